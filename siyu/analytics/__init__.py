"""Analytics: one ClickHouse SQL dialect on embedded chdb or a ClickHouse server."""

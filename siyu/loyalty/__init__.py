"""Loyalty: points, member tiers, member day, check-in, points mall, lottery."""

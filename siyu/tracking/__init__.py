"""Tracking: client event ingestion (/api/track), server-side facts from the outbox,
identity stitching (person_links) and channel attribution from WeChat scenes."""

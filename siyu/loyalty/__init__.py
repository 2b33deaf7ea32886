"""Loyalty: the points ledger, member tiers, member day, check-in, the points mall and
the lottery — each subscribed to the order lifecycle seam, never wired into payment."""

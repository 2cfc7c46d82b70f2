"""Tables of the reports room: the outbox (one row per agency and period)."""

"""Harvesting: the HTTP client, source types, paging and one harvest run."""

"""Harvesting: source types, paging, change detection and one harvest run."""

"""The registry of obliged agencies (CSV import) and portal coverage (own catalogue vs
dataportal.se)."""

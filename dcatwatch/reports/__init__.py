"""Per-agency quality reports: content from the scoring (and validation) results, Jinja2
templates in Swedish and English, and SMTP delivery through an outbox that never sends a
report twice (``dcatwatch report preview`` / ``dcatwatch report send``)."""

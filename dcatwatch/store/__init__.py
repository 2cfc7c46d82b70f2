"""The store: SQLModel tables, engines and Alembic migrations (SQLite or PostgreSQL)."""

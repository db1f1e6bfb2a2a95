"""Alembic migrations, shipped inside the package and run programmatically (see storage.migrate)."""

"""Alembic migrations of the server store (shipped inside the package, so an installed server can migrate)."""

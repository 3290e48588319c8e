"""Alembic's entry point: runs the migrations on the connection the store hands over (assistant.server.migrate)."""

from alembic import context

from assistant.server.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()

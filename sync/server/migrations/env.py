"""Alembic environment: always run on the connection `storage.migrate` hands over."""

from alembic import context

from sync.server.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `bundelassistent-server` (storage.migrate), not bare alembic")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()

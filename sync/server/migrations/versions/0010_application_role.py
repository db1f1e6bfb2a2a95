"""PostgreSQL: an application role that may only add to and read the audit log.

Creates the group role `bundelassistent_app` (NOLOGIN) when it does not exist yet and
grants it what the running server needs: SELECT, INSERT and UPDATE on the tables, but
on `audit_log` only SELECT and INSERT, and on `alembic_version` only SELECT. No DELETE
and no TRUNCATE anywhere; as it owns nothing, it cannot drop or disable the triggers
that keep the audit log append-only either. Tables that later migrations create get the
same table rights by default (ALTER DEFAULT PRIVILEGES for the role that migrates); a
migration that adds an append-only table revokes UPDATE on it.

IT gives the server's login role membership (`GRANT bundelassistent_app TO …`) and
keeps the owner role, which runs `migrate`, for itself (docs/IT.md). A migrating role
without CREATEROLE gets a notice instead of the role; once IT has created it, the
`migrate` command applies the grants (it re-applies them every time; they are
idempotent). The statement lives in `sync.server.roles` for that reason. SQLite has no
roles: nothing to do.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

from sync.server.roles import APP_ROLE, GRANTS

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GRANTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM {APP_ROLE}', current_schema());
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM {APP_ROLE}',
                       current_schema());
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM {APP_ROLE}', current_schema());
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {APP_ROLE}', current_schema());
    END IF;
END
$$""")

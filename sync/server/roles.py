"""PostgreSQL roles: the application role may only add to and read the audit log.

The owner role (which creates the tables and runs `migrate`) and the application role
(which the server logs in as) are separate. `GRANTS` gives the group role
`APP_ROLE` what the running server needs and no more; migration 0010 runs it, and
`bundelassistent-server migrate` runs it again each time (it is idempotent), so a role
IT created later, or a table a later migration added, gets its rights. See docs/IT.md.
"""

from __future__ import annotations

APP_ROLE = "bundelassistent_app"

GRANTS = f"""
DO $$
DECLARE
    schema_name text := current_schema();
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database of this cluster made it at the same moment
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'rol {APP_ROLE} kon niet gemaakt worden (geen CREATEROLE); maak hem aan en voer migrate opnieuw uit';
                RETURN;
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}', schema_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA %I TO {APP_ROLE}', schema_name);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO {APP_ROLE}', schema_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE ON TABLES TO {APP_ROLE}',
                   schema_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}',
                   schema_name);
    IF to_regclass('rate_limits') IS NOT NULL THEN
        GRANT DELETE ON rate_limits TO {APP_ROLE};  -- spent rate-limit buckets are cleared
    END IF;
    REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM {APP_ROLE};
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON alembic_version FROM {APP_ROLE};
    REVOKE ALL ON audit_log FROM PUBLIC;
END
$$
"""  # noqa: E501 - a PL/pgSQL message literal cannot be split


OWNS_THE_TABLES = """
SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c
 WHERE c.oid = to_regclass('audit_log')
"""


def grant_application_role(conn) -> bool:
    """Run `GRANTS` on a PostgreSQL connection (inside its transaction); False unless it owns the tables.

    PostgreSQL only warns when a role that is not the owner grants rights, so ownership
    is checked first rather than trusting the statement to fail.
    """
    from sqlalchemy import text

    if not conn.execute(text(OWNS_THE_TABLES)).scalar():
        return False
    conn.execute(text(GRANTS))
    return True

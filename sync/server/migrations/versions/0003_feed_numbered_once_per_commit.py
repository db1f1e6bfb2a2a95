"""Number a transaction's feed rows in one step at COMMIT.

0002 numbered them one row at a time, each time updating the counter row: a push of 500
records left 500 versions of that row, which every later update walked past. Now the
first deferred trigger call of a transaction numbers all of its rows (the only
unnumbered rows it can see are its own) with one counter update; the later calls find
their row numbered and return. A partial index finds the unnumbered rows.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NUMBER_ONCE = """
CREATE OR REPLACE FUNCTION bundelassistent_feed_number() RETURNS trigger AS $$
DECLARE
    pending bigint;
    last bigint;
BEGIN
    IF (SELECT seq FROM feed WHERE id = NEW.id) IS NOT NULL THEN
        RETURN NULL;  -- numbered with the rest of its transaction already
    END IF;
    SELECT count(*) INTO pending FROM feed WHERE seq IS NULL;
    UPDATE feed_counter SET last_seq = last_seq + pending WHERE id = 1 RETURNING last_seq INTO last;
    UPDATE feed SET seq = last - pending + numbered.position
      FROM (SELECT id, row_number() OVER (ORDER BY id) AS position FROM feed WHERE seq IS NULL) AS numbered
     WHERE feed.id = numbered.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

NUMBER_EACH = """
CREATE OR REPLACE FUNCTION bundelassistent_feed_number() RETURNS trigger AS $$
DECLARE
    next_seq bigint;
BEGIN
    UPDATE feed_counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq INTO next_seq;
    UPDATE feed SET seq = next_seq WHERE id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.execute("CREATE INDEX ix_feed_unnumbered ON feed (id) WHERE seq IS NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NUMBER_ONCE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NUMBER_EACH)
    op.execute("DROP INDEX IF EXISTS ix_feed_unnumbered")

"""The server stores the named states as the same plain strings, on SQLite and PostgreSQL.

The states reach the server's tables through the protocol models and the server's own
decision (`accepted` / `duplicate`); read back raw, they must be exactly the values
existing databases hold (`tests/desktop/test_states.py` pins them).
"""

import sqlalchemy

from helpers import valid_bsns
from serverproc import record, withdrawn

BSNS = valid_bsns(2, start=310000000)


def server_rows(server, sql: str) -> list:
    engine = sqlalchemy.create_engine(server.database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            return list(conn.execute(sqlalchemy.text(sql)))
    finally:
        engine.dispose()


def test_stored_states_are_the_plain_values(server):
    client, other = server.enroll("kamer 1"), server.enroll("kamer 2")
    first = record(BSNS[0], side="both", insurer_source="card", initial_treatment="surgery")
    (answer,) = client.push_ok([first])
    assert answer["result"] == "accepted"
    (answer,) = other.push_ok([record(BSNS[0], side="L")])  # the same patient and condition
    assert answer["result"] == "duplicate"
    client.push_ok([withdrawn(first)])

    rows = server_rows(server, "SELECT state, status, side, episode_side, insurer_source, initial_treatment "
                               "FROM inclusions ORDER BY received_at, id")
    assert sorted(tuple(row) for row in rows) == sorted([
        ("withdrawn", "accepted", "both", "", "card", "surgery"),
        ("registered", "duplicate", "L", "", "server", "conservative"),
    ])
    revisions = server_rows(server, "SELECT status FROM inclusion_revisions ORDER BY inclusion_id, revision")
    assert sorted(row[0] for row in revisions) == ["accepted", "accepted", "duplicate"]

"""The server re-checks every pushed record with the device's own rules, on its own bundles.

The bundle definitions are the TOML texts `import-bundles` stored; they are parsed with
the domain core (`desktop.core.bundles`) and the record is checked with
`desktop.core.record_rules`, the same code the device runs. A record for a bundle and
version the server does not hold is refused: the server cannot check what it does not
know. Parsed bundles are kept per TOML text, so a batch costs one query, not a parse.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select, tuple_

from desktop.core.bundles import Bundle, BundleError, parse_bundle_toml
from desktop.core.messages import Plain
from desktop.core.record_rules import RecordFacts, RuleFailed, record_failures
from sync.protocol import InclusionRecord
from sync.server import tables as t
from sync.server.storage import Transaction

CLOCK_SLACK = dt.timedelta(days=1)  # devices' clocks and time zones differ a little


@lru_cache(maxsize=64)
def _parse(toml: str, bundle_id: str) -> Bundle | str:
    """A Bundle, or the reason the stored text is not a valid definition."""
    try:
        return parse_bundle_toml(toml, Path(f"{bundle_id}.toml"))  # a name, never read
    except BundleError as error:
        return "; ".join(error.problems)


def bundles_for(tx: Transaction, records: list[InclusionRecord]) -> dict[tuple[str, str], Bundle | str]:
    """The server's definitions of the (bundle, version) pairs in a batch."""
    pairs = sorted({(r.bundle, r.bundle_version) for r in records})
    found: dict[tuple[str, str], Bundle | str] = {}
    b = t.bundles.c
    for start in range(0, len(pairs), 500):
        query = select(b.id, b.version, b.toml).where(tuple_(b.id, b.version).in_(pairs[start:start + 500]))
        for row in tx.conn.execute(query):
            found[(row.id, row.version)] = _parse(row.toml, row.id)
    return found


def failures(record: InclusionRecord, bundle: Bundle | str | None, now: dt.datetime) -> list[RuleFailed]:
    """What the record breaks on this server (empty: it holds)."""
    if bundle is None:
        return [RuleFailed("bundle", Plain(f"bundel {record.bundle!r} versie {record.bundle_version!r} is niet bekend "
                                           "op de server; vraag IT de bundeldefinities in te lezen (import-bundles)"))]
    if isinstance(bundle, str):
        return [RuleFailed("bundle", Plain(f"de definitie van bundel {record.bundle!r} versie "
                                           f"{record.bundle_version!r} op de server is ongeldig ({bundle}); "
                                           "vraag IT om hulp"))]
    facts = RecordFacts(
        condition=record.condition, diagnosis=record.diagnosis, side=record.side, episode_side=record.episode_side,
        birth_date=record.birth_date, insurer_uzovi=record.insurer_uzovi, inclusion_date=record.inclusion_date,
        end_date=record.end_date, agreed=record.agreed, eligibility_status=record.eligibility_status)
    return record_failures(facts, bundle, (now + CLOCK_SLACK).date())


def reason(found: list[RuleFailed]) -> str:
    return "; ".join(failure.text() for failure in found)

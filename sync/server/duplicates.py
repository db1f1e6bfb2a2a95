"""Where the server detects duplicate episodes: one patient, one bundle episode at a time.

Two inclusions are the same episode when they share the bundle, BSN, condition and —
when the bundle's episode key includes it — an overlapping side, and their date ranges
overlap. Only accepted, registered inclusions count: a withdrawn or rejected one blocks
nobody. `sync.server.inclusions` locks the episode keys of a batch before it loads the
episodes here, so two devices pushing the same episode cannot both be accepted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import func, select

from desktop.core.bundles import Bundle
from desktop.core.eligibility import sides_overlap
from desktop.core.fields import SIDES
from desktop.core.states import RecordState, ServerResult
from sync.protocol import DuplicateOf, InclusionRecord
from sync.server import tables as t
from sync.server.devices import Device
from sync.server.storage import Transaction

CHUNK = 500
EPISODE_SIDES = (*SIDES, "")  # "": no side in the key, or the side is not known

EpisodeKey = tuple[str, str, str, str]  # bundle, bsn, condition, episode side or ""


@dataclass
class Episode:
    id: str
    inclusion_date: dt.date
    end_date: dt.date
    location: str | None
    organisation: str | None  # of the device that first pushed it


def episode_keys(record: InclusionRecord, bundle: Bundle | str | None) -> list[EpisodeKey]:
    """The episode keys that can hold an episode overlapping this record's.

    Sides overlap as the device's active-episode rule says (`sides_overlap`): equal, one
    of them `both`, or one not known.
    """
    key = record.episode_key()
    if not isinstance(bundle, Bundle) or "side" not in bundle.episode_key:
        return [key]
    return [(*key[:3], side) for side in EPISODE_SIDES if sides_overlap(side or None, key[3] or None)]


def with_owner():
    """Inclusions joined to the device that owns them (the first pusher; before migration
    0009 the column was empty and the pusher stands in)."""
    c = t.inclusions.c
    return t.inclusions.outerjoin(t.devices, t.devices.c.id == func.coalesce(c.owner_device, c.pushed_by))


@dataclass
class Episodes:
    """The accepted, registered episodes of a batch's patients, kept current as the batch is decided."""

    by_key: dict[EpisodeKey, dict[str, Episode]] = field(default_factory=dict)

    def load(self, tx: Transaction, keys: set[EpisodeKey]) -> None:
        """Selected by BSN alone (the leading column of the episode index) and matched on the
        rest of the key here: a row-value IN list is planned as a long OR filter."""
        bsns = sorted({key[1] for key in keys})
        c = t.inclusions.c
        for start in range(0, len(bsns), CHUNK):
            query = (select(c.id, c.bundle, c.bsn, c.condition, c.episode_side, c.inclusion_date, c.end_date,
                            c.location, t.devices.c.organisation)
                     .select_from(with_owner())
                     .where(c.bsn.in_(bsns[start:start + CHUNK]), c.status == ServerResult.ACCEPTED,
                            c.state == RecordState.REGISTERED))
            for row in tx.conn.execute(query):
                key = (row.bundle, row.bsn, row.condition, row.episode_side)
                if key in keys:
                    self.add(key, Episode(row.id, row.inclusion_date, row.end_date, row.location, row.organisation))

    def add(self, key: EpisodeKey, episode: Episode) -> None:
        self.by_key.setdefault(key, {})[episode.id] = episode

    def remove(self, key: EpisodeKey, inclusion_id: str) -> None:
        self.by_key.get(key, {}).pop(inclusion_id, None)

    def overlap(self, record: InclusionRecord, keys: list[EpisodeKey]) -> Episode | None:
        """The earliest other episode whose dates overlap the record's, if any."""
        own = str(record.id)
        found = [e for key in keys for e in self.by_key.get(key, {}).values()
                 if e.id != own and e.inclusion_date <= record.end_date and e.end_date >= record.inclusion_date]
        return min(found, key=lambda e: (e.inclusion_date, e.id)) if found else None


def told(device: Device, earlier: Episode) -> DuplicateOf:
    """What the pushing device learns of the earlier inclusion: its dates (the episode that
    blocks this one), and its location only within the device's own organisation — that a
    patient is treated at another clinic is not this clinic's to know."""
    same_organisation = earlier.organisation == device.organisation
    return DuplicateOf(id=UUID(earlier.id), inclusion_date=earlier.inclusion_date, end_date=earlier.end_date,
                       location=earlier.location if same_organisation else None)


def duplicate_of(tx: Transaction, device: Device, inclusion_id: str | None) -> DuplicateOf | None:
    """What the device is told about a stored inclusion that an earlier push found a duplicate of
    (nothing when the record names none)."""
    if inclusion_id is None:
        return None
    c = t.inclusions.c
    row = tx.conn.execute(select(c.id, c.inclusion_date, c.end_date, c.location, t.devices.c.organisation)
                          .select_from(with_owner()).where(c.id == inclusion_id)).first()
    return told(device, Episode(row.id, row.inclusion_date, row.end_date, row.location, row.organisation)) \
        if row else None

"""The server's tables (SQLAlchemy Core), the single source the migrations are written from.

Timestamps are stored in UTC (`UTCDateTime`); dates as dates. The BSN lives only in the
database (inclusions, coverage, device_patients, feed rows, audit_log), never in logs.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

DEFAULT_ORGANISATION = "standaard"  # devices enrolled before organisations existed (migration 0006)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime in Python; timestamptz on PostgreSQL, naive-UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


devices = Table(
    "devices", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("location", String(200)),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("enrollment_code_id", Integer),
    # from the enrolment code: the feed shares inclusions only within one organisation
    Column("organisation", String(200), nullable=False, server_default=DEFAULT_ORGANISATION),
)

device_keys = Table(  # each device's database key, sealed with the server's key-encryption key
    "device_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(36), nullable=False),
    Column("key_fingerprint", String(64), nullable=False),  # sha256 of the key: a re-deposit is a no-op
    Column("sealed_key", Text, nullable=False),             # AES-256-GCM, the device id as associated data
    Column("deposited_at", UTCDateTime, nullable=False),
    UniqueConstraint("device_id", "key_fingerprint", name="uq_device_keys_device_fingerprint"),
)

enrollment_codes = Table(
    "enrollment_codes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("location", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Column("device_id", String(36)),
    Column("retry_key_hash", String(64)),  # the claiming device's retry key: see devices.enroll
    Column("organisation", String(200), nullable=False, server_default=DEFAULT_ORGANISATION),
)

inclusions = Table(
    "inclusions", metadata,
    Column("id", String(36), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("state", String(20), nullable=False),           # registered | withdrawn (the device's)
    Column("status", String(20), nullable=False),          # accepted | duplicate (the server's)
    Column("duplicate_of", String(36)),
    Column("bundle", String(100), nullable=False),
    Column("bundle_version", String(100), nullable=False),
    Column("condition", String(100), nullable=False),
    Column("diagnosis", String(20), nullable=False),
    Column("side", String(4)),                             # L | R | both
    Column("episode_side", String(4), nullable=False, server_default=""),  # L | R | both, "" when not in the key
    Column("bsn", String(9), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("name", String(200)),
    Column("insurer_uzovi", String(4), nullable=False),
    Column("insurer_source", String(100), nullable=False),  # server | cache | card | manual | import
    Column("insurer_checked_at", UTCDateTime, nullable=False),
    Column("eligibility_status", String(100), nullable=False),
    Column("eligibility_rules", Text, nullable=False),
    Column("explained_by", String(200)),
    Column("explained_at", UTCDateTime),
    Column("explanation_language", String(2)),
    Column("handout_printed", Boolean, nullable=False),
    Column("agreed", Boolean, nullable=False),
    Column("clinician_agb", String(8)),
    Column("location", String(200)),
    Column("inclusion_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("initial_treatment", String(200)),              # conservative | surgery
    Column("device_id", String(100), nullable=False),      # as the record says
    Column("user", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("withdrawn_at", UTCDateTime),
    Column("withdrawal_reason", String(2000)),
    Column("decision_support", Text),                      # JSON: what Samen beslissen showed (NULL: none)
    Column("content_hash", String(64), nullable=False),    # sha256 of the canonical record
    Column("pushed_by", String(36), nullable=False),       # the enrolled device that sent it
    Column("received_at", UTCDateTime, nullable=False),
    Column("owner_device", String(36)),                    # the enrolled device that first pushed it
    Column("last_revision", Integer),                      # highest revision received, rejected ones too
    Index("ix_inclusions_episode", "bsn", "bundle", "condition", "episode_side"),
    Index("ix_inclusions_inclusion_date", "inclusion_date"),
)

inclusion_revisions = Table(
    "inclusion_revisions", metadata,
    Column("inclusion_id", String(36), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("content", Text, nullable=False),               # the canonical record JSON
    Column("pushed_by", String(36), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

coverage = Table(
    "coverage", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bsn", String(9), nullable=False),
    Column("birth_date", Date),                            # NULL: imported before 0006, never answered
    Column("uzovi", String(4), nullable=False),
    Column("insurer", String(200)),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("imported_at", UTCDateTime, nullable=False),
    UniqueConstraint("bsn", "valid_from", name="uq_coverage_bsn_valid_from"),
)

bundles = Table(
    "bundles", metadata,
    Column("id", String(100), primary_key=True),
    Column("version", String(100), primary_key=True),
    Column("toml", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
)

patients = Table(
    "patients", metadata,
    # Random ids for each patient, drawn once by this server and never derived from the BSN:
    # fhir_id is Patient.id in FHIR exports, research_id the pseudonym in research exports
    # (two ids, so an insurer's or EHR's file cannot re-identify a research file).
    Column("bsn", String(9), primary_key=True),
    Column("fhir_id", String(36), nullable=False, unique=True),
    Column("research_id", String(36), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

device_patients = Table(
    # the patients a device knows (looked up or included) with the birth date it gave:
    # it is sent coverage only where that birth date matches
    "device_patients", metadata,
    Column("device_id", String(36), primary_key=True),
    Column("bsn", String(9), primary_key=True),
    Column("birth_date", Date, primary_key=True),
    Column("since", UTCDateTime, nullable=False),
)

feed = Table(
    "feed", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("seq", BigInteger, unique=True),                # numbered at COMMIT (see storage)
    Column("kind", String(20), nullable=False),            # inclusion | bundle | coverage
    Column("origin_device", String(36)),                   # not sent back to this device
    Column("target_device", String(36)),                   # only for this device (NULL: all)
    Column("bsn", String(9)),                              # coverage: only to devices that know the BSN
    Column("organisation", String(200)),                   # only for this organisation's devices (NULL: all)
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # the rows of transactions not yet committed (PostgreSQL numbers them at COMMIT)
    Index("ix_feed_unnumbered", "id", postgresql_where=text("seq IS NULL"), sqlite_where=text("seq IS NULL")),
)

feed_counter = Table(
    "feed_counter", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("system", String(50), nullable=False),
    Column("device_id", String(36)),
    Column("actor", String(200), nullable=False),          # device:<id> or admin:<os user>
    Column("action", String(50), nullable=False),
    Column("patient_bsn", String(9)),
    Column("object_type", String(50)),
    Column("object_id", String(100)),
    Column("outcome", String(50), nullable=False),
    Column("details", Text),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_device_at", "device_id", "at"),
    Index("ix_audit_log_patient", "patient_bsn"),
)

rate_limits = Table(
    # one row per limited key (lookup:<device>, enroll:<address>): the GCRA "theoretical
    # arrival time" in epoch seconds, shared by every worker process (see ratelimit.py)
    "rate_limits", metadata,
    Column("key", String(100), primary_key=True),
    Column("tat", Float, nullable=False),
)


intake_responses = Table(
    # the intake questionnaires the PROM platform exported, as baseline columns (see intake.py):
    # one row per response, keyed by its identifier (or id); the item answers are not kept
    "intake_responses", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_key", String(200), nullable=False, unique=True),
    Column("content_hash", String(64), nullable=False),    # sha256 of what is stored: a re-import is a no-op
    Column("bsn", String(9), nullable=False),
    Column("birth_date", Date, nullable=False),            # a lookup must give the same
    Column("completed_on", Date, nullable=False),          # the clinic's local date
    Column("completed_at", UTCDateTime),                   # NULL when the export gave a date only
    Column("status", String(20), nullable=False),          # completed | amended
    Column("answers", Text, nullable=False),               # JSON {baseline column: value}
    Column("imported_at", UTCDateTime, nullable=False),
    Column("organisation", String(200)),                   # NULL: the devices of every organisation
    Index("ix_intake_responses_patient", "bsn", "completed_on"),
)

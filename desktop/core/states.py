"""Named states: logic compares these, never the words a user reads (issue 12).

Plain enums with no I/O and no Qt, so the window imports them before anything slow is loaded;
the window words each state in one place. Each value is the exact string stored in the
device's SQLite file, in the server's tables and on the wire (`tests/desktop/test_states.py`
holds them to that), so naming them needed no migration.
"""

from __future__ import annotations

from enum import StrEnum


def values(states: type[StrEnum]) -> tuple[str, ...]:
    """The plain strings of an enum, for `Literal[...]` types and CHECK lists that must stay str."""
    return tuple(state.value for state in states)


class ModelState(StrEnum):
    """Where the prediction models are. The window words each state in one place
    (`desktop/ui/state_words`); logic compares these, never the words."""

    LOADING = "loading"  # importing scikit-learn and friends
    VERIFYING = "verifying"  # reading the model files and checking them against their cards
    READY = "ready"
    UNAVAILABLE = "unavailable"

    @property
    def busy(self) -> bool:
        return self in (ModelState.LOADING, ModelState.VERIFYING)


class RecordState(StrEnum):
    """Where an inclusion stands on this device (`inclusions.state`; worded in
    `desktop/ui/state_words`). On the wire and on the server only `registered`
    and `withdrawn` exist (`WIRE_STATES`): the rest is what the server answered."""

    REGISTERED = "registered"  # saved here, not (or not yet successfully) sent
    SYNCED = "synced"          # the server accepted it
    DUPLICATE = "duplicate"    # the server holds an overlapping episode from elsewhere
    REJECTED = "rejected"      # the server refused it
    WITHDRAWN = "withdrawn"    # withdrawn with a reason; the record stays

    @property
    def on_wire(self) -> RecordState:
        """Locally a record can be synced, duplicate, …; on the wire it is registered or withdrawn."""
        return RecordState.WITHDRAWN if self is RecordState.WITHDRAWN else RecordState.REGISTERED

    @property
    def holds_episode(self) -> bool:
        """Whether it keeps the patient's episode open (a refused or withdrawn one does not)."""
        return self not in (RecordState.WITHDRAWN, RecordState.REJECTED)


WIRE_STATES = (RecordState.REGISTERED, RecordState.WITHDRAWN)
PROBLEM_STATES = (RecordState.DUPLICATE, RecordState.REJECTED)  # the worklist shows these in red


class ServerResult(StrEnum):
    """The server's answer for one pushed record (`PushResult.result`); the server stores
    `accepted` or `duplicate` as an inclusion's status, the device keeps it as `server_result`."""

    ACCEPTED = "accepted"
    UNCHANGED = "unchanged"  # the same revision again: nothing changed
    DUPLICATE = "duplicate"
    REJECTED = "rejected"

    @property
    def record_state(self) -> RecordState:
        """What the answer makes of a registered record on the device."""
        return {ServerResult.ACCEPTED: RecordState.SYNCED, ServerResult.UNCHANGED: RecordState.SYNCED,
                ServerResult.DUPLICATE: RecordState.DUPLICATE}.get(self, RecordState.REJECTED)


STORED_RESULTS = (ServerResult.ACCEPTED, ServerResult.DUPLICATE)  # the server's `inclusions.status`


class OutboxState(StrEnum):
    """An outbox row: pending → sending (written before the request) → done (after the answer)."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"


SENDABLE = (OutboxState.PENDING, OutboxState.SENDING)  # a row a crash left in `sending` goes again


class IntakeSource(StrEnum):
    """Where a patient's intake questionnaire came from (`bundelassistent intake --json` "source")."""

    SERVER = "server"  # the central server answered it just now
    CACHE = "cache"    # an earlier server answer kept in this device's register
    NONE = "none"      # neither has one for this patient on this date


class InputSource(StrEnum):
    """Where one input of a prediction came from (`predict --json`, a record's decision support)."""

    QUESTIONNAIRE = "questionnaire"  # the patient's intake questionnaire, as the server (or its cache) gave it
    ENTERED = "entered"              # typed here, a correction of the questionnaire too (age: from the birth date)
    ESTIMATED = "estimated"          # unknown: the models estimated it from the other inputs


class InsurerSource(StrEnum):
    """Where the insurer on a record came from (worded in `desktop/ui/state_words`)."""

    SERVER = "server"  # looked up at the central server just now
    CACHE = "cache"    # the device's cache of earlier lookups and synced coverage
    CARD = "card"      # typed from the patient's insurance card
    MANUAL = "manual"  # picked by name from the UZOVI table
    IMPORT = "import"  # given by a registration file (CLI)

    @property
    def looked_up(self) -> bool:
        """Found by a lookup (so it has a time of checking), not given by a person."""
        return self in (InsurerSource.SERVER, InsurerSource.CACHE)


class Side(StrEnum):
    """Which hand (worded in `desktop/ui/state_words`; typed words are read by
    `desktop.core.inputs.parse_side`)."""

    LEFT = "L"
    RIGHT = "R"
    BOTH = "both"


class TreatmentOption(StrEnum):
    """The options of the shared decision and a record's `initial_treatment` (worded in
    `desktop/ui/state_words`); the same names as `predictors.schema.OPTIONS`."""

    CONSERVATIVE = "conservative"
    SURGERY = "surgery"

"""The words the window shows for each named state (`desktop.core.states`), in one place.

Logic compares the states, never these words (`tests/test_named_states.py` checks that);
each word is a Dutch source text that `i18n.tr` turns into English when that is chosen.
"""

from __future__ import annotations

from desktop.core.states import InsurerSource, ModelState, RecordState, Side, TreatmentOption

MODEL_STATE_TEXT = {ModelState.LOADING: "laden…", ModelState.VERIFYING: "controleren…",
                    ModelState.READY: "gereed", ModelState.UNAVAILABLE: "niet beschikbaar"}

RECORD_STATE_TEXT = {RecordState.REGISTERED: "geregistreerd", RecordState.SYNCED: "verzonden",
                     RecordState.DUPLICATE: "dubbel", RecordState.REJECTED: "afgewezen",
                     RecordState.WITHDRAWN: "ingetrokken"}

SIDE_TEXT = {Side.LEFT: "links", Side.RIGHT: "rechts", Side.BOTH: "beide"}

INSURER_SOURCE_TEXT = {InsurerSource.SERVER: "opgezocht bij de centrale server",
                       InsurerSource.CACHE: "uit de lokale cache",
                       InsurerSource.CARD: "ingevuld van de verzekeringspas",
                       InsurerSource.MANUAL: "gekozen uit de UZOVI-tabel",
                       InsurerSource.IMPORT: "uit het registratiebestand"}

# A treatment option as a word in a sentence or list, and as the heading of its panel.
OPTION_TEXT = {TreatmentOption.CONSERVATIVE: "conservatief", TreatmentOption.SURGERY: "operatie"}
OPTION_TITLE = {TreatmentOption.CONSERVATIVE: "Conservatief", TreatmentOption.SURGERY: "Operatie"}
OPTION_SUBTITLE = {TreatmentOption.CONSERVATIVE: "spalk, injectie, handtherapie",
                   TreatmentOption.SURGERY: "met nazorg en handtherapie"}

TABLES = {ModelState: MODEL_STATE_TEXT, RecordState: RECORD_STATE_TEXT, Side: SIDE_TEXT,
          InsurerSource: INSURER_SOURCE_TEXT, TreatmentOption: OPTION_TEXT}

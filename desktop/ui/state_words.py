"""The words the window shows for each named state (`desktop.core.states`), as catalogue keys.

Logic compares the states, never these words (`tests/test_named_states.py` checks that;
`tests/desktop/test_states.py` that every state has a key whose languages differ);
`i18n.t(key)` reads a key in the window's language.
"""

from __future__ import annotations

from desktop.core.states import InsurerSource, ModelState, RecordState, Side, TreatmentOption

MODEL_STATE_TEXT = {ModelState.LOADING: "window.state.model.loading",
                    ModelState.VERIFYING: "window.state.model.verifying",
                    ModelState.READY: "window.state.model.ready",
                    ModelState.UNAVAILABLE: "window.state.model.unavailable"}

RECORD_STATE_TEXT = {RecordState.REGISTERED: "window.state.record.registered",
                     RecordState.SYNCED: "window.state.record.synced",
                     RecordState.DUPLICATE: "window.state.record.duplicate",
                     RecordState.REJECTED: "window.state.record.rejected",
                     RecordState.WITHDRAWN: "window.state.record.withdrawn"}

SIDE_TEXT = {Side.LEFT: "window.state.side.left", Side.RIGHT: "window.state.side.right",
             Side.BOTH: "window.state.side.both"}

INSURER_SOURCE_TEXT = {InsurerSource.SERVER: "window.state.insurer_source.server",
                       InsurerSource.CACHE: "window.state.insurer_source.cache",
                       InsurerSource.CARD: "window.state.insurer_source.card",
                       InsurerSource.MANUAL: "window.state.insurer_source.manual",
                       InsurerSource.IMPORT: "window.state.insurer_source.import"}

# A treatment option as a word in a sentence or list, and as the heading of its panel.
OPTION_TEXT = {TreatmentOption.CONSERVATIVE: "window.state.option.conservative",
               TreatmentOption.SURGERY: "window.state.option.surgery"}
OPTION_TITLE = {TreatmentOption.CONSERVATIVE: "window.state.option_title.conservative",
                TreatmentOption.SURGERY: "window.state.option_title.surgery"}
OPTION_SUBTITLE = {TreatmentOption.CONSERVATIVE: "window.state.option_subtitle.conservative",
                   TreatmentOption.SURGERY: "window.state.option_subtitle.surgery"}

TABLES = {ModelState: MODEL_STATE_TEXT, RecordState: RECORD_STATE_TEXT, Side: SIDE_TEXT,
          InsurerSource: INSURER_SOURCE_TEXT, TreatmentOption: OPTION_TEXT}

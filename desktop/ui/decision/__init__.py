"""The Samen beslissen (shared decision) page, one file per part: the page itself and its
form and predictions (`page.py`), one option's column (`panel.py`), the drawings
(`charts.py`) and the model card dialog (`model_card.py`). The consultation step that
shows it is `desktop/ui/steps/decision.py`.
"""

"""The five consultation steps, one file each: `patient.py`, `insurance.py`,
`explanation.py`, `decision.py`, `inclusion.py` (what they share: `base.py`).

Each writes its fields into the shared Consultation and emits `changed`; the window
re-evaluates and tells every step to refresh.
"""

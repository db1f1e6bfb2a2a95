"""Step 4, Samen beslissen: the shared-decision page (`desktop/ui/decision/`) as a step."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from desktop.core.states import ModelState
from desktop.ui.steps.base import Step


class DecisionStep(Step):
    """Shared decision-making: predictions per option once the models are loaded."""

    title = "window.steps.decision"
    stays_open = ("view.card_button",)

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        from desktop.ui.decision.page import DecisionView

        layout = QVBoxLayout(self)
        self.view = DecisionView(consultation)
        layout.addWidget(self.view)
        self.set_model_state(ModelState.LOADING)

    def focus_target(self):
        """The first input of the prediction (none while the models load or no diagnosis is known).

        Arriving at the step is when the inputs are put in the order of their influence: nobody is
        typing in them yet."""
        self.view.reorder_inputs(arriving=True)
        return next((widget for widget in self.view.inputs.values() if widget.isEnabled()), None)

    def set_model_state(self, state: ModelState, detail: str = "") -> None:
        self.view.set_models(self.services.models if state is ModelState.READY else None, state, detail)

    def refresh(self, decision, problems):
        super().refresh(decision, problems)
        condition = decision.condition.id if decision is not None and decision.condition is not None else None
        self.view.set_condition(condition)

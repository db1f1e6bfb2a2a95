"""Placeholders that cannot be mistaken for values (issue 13 item 10): each placeholder of the
consultation's fields is refused by the rule of its field, in Dutch and in English, while a real
value passes the same rule."""

import datetime as dt

import pytest

pytest.importorskip("PySide6")

from desktop import config
from desktop.core import identifiers
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from desktop.ui.main_window import MainWindow
from helpers import bundles_with_contract_end, valid_bsns

# (step, attribute, the field's own rule, a real value)
FIELDS = [(0, "bsn", identifiers.validate_bsn, valid_bsns(1)[0]),
          (0, "birth_date", lambda v: identifiers.parse_date(v, "birth_date"), "02-06-1971"),
          (1, "uzovi", identifiers.validate_uzovi, "3311"),
          (1, "inclusion_date", lambda v: identifiers.parse_date(v, "inclusion_date"), "2026-12-01"),
          (4, "agb", identifiers.validate_agb, "01234567")]


@pytest.fixture(params=["nl", "en"])
def services(request, tmp_path):
    bundles = bundles_with_contract_end(tmp_path / "bundles", dt.date.today() + dt.timedelta(days=365))
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles),
                                      "location": "Utrecht", "language": request.param})
    services = Services(settings, Actor("werkplek-3", "SUO"))
    yield services
    services.close()


def test_no_placeholder_passes_the_rule_of_its_field(qtbot, services):
    window = MainWindow(services, load_models=False, background_sync=False)
    qtbot.addWidget(window)
    for step, attribute, rule, real in FIELDS:
        placeholder = getattr(window.steps[step], attribute).placeholderText()
        assert placeholder, attribute
        rule(real)  # the rule takes a real value …
        with pytest.raises(identifiers.InvalidField):
            rule(placeholder)  # … and not the placeholder

"""Every hard and soft range of PROTOCOL.md section 9, through the forms (plain dicts)."""

from __future__ import annotations

import pytest

from outcomes.forms import LabPanelForm, OxygenationForm, PulmonaryFunctionForm, SixMinuteWalkForm
from outcomes.models import Oxygenation, PulmonaryFunction, SixMinuteWalk

pytestmark = pytest.mark.django_db

OXYGENATION = {
    "sampled_at": "08:00",
    "o2_device": "mask",
    "fio2": "0.4",
    "pao2": "80",
    "paco2": "38",
    "ph": "7.42",
    "spo2": "94",
}
PFT = {"done": "True", "fvc_l": "2.1", "fvc_pct": "60", "dlco_pct": "40"}
WALK = {
    "done": "True",
    "distance_m": "300",
    "spo2_pre": "94",
    "spo2_nadir": "88",
    "stopped_early": "False",
}


def outcome(form) -> dict:
    form.is_valid()
    return {name: errors[0].split(":")[0].split(" (")[0] for name, errors in form.errors.items()}


@pytest.mark.parametrize(
    ("field", "hard", "soft", "normal"),
    [
        ("pao2", "15", "35", "80"),
        ("paco2", "160", "65", "38"),
        ("ph", "6.7", "7.6", "7.42"),
        ("spo2", "45", "78", "94"),
    ],
)
def test_oxygenation_ranges(field, hard, soft, normal):
    assert (
        outcome(OxygenationForm({**OXYGENATION, field: hard}, instance=Oxygenation()))[field]
        == "Not possible"
    )
    assert (
        outcome(OxygenationForm({**OXYGENATION, field: soft}, instance=Oxygenation()))[field]
        == "Unusual value"
    )
    assert (
        outcome(
            OxygenationForm(
                {**OXYGENATION, field: soft, "confirm_unusual": "on"}, instance=Oxygenation()
            )
        )
        == {}
    )
    assert outcome(OxygenationForm({**OXYGENATION, field: normal}, instance=Oxygenation())) == {}


def test_fio2_below_room_air_is_refused():
    assert "fio2" in outcome(
        OxygenationForm({**OXYGENATION, "fio2": "0.15"}, instance=Oxygenation())
    )


@pytest.mark.parametrize(
    ("field", "hard", "soft"),
    [("fvc_l", "9.5", "0.4"), ("fvc_pct", "4", "25"), ("dlco_pct", "210", "140")],
)
def test_pulmonary_function_ranges(field, hard, soft):
    assert (
        outcome(PulmonaryFunctionForm({**PFT, field: hard}, instance=PulmonaryFunction()))[field]
        == "Not possible"
    )
    assert (
        outcome(PulmonaryFunctionForm({**PFT, field: soft}, instance=PulmonaryFunction()))[field]
        == "Unusual value"
    )


def test_six_minute_walk_distance_ranges():
    assert (
        outcome(SixMinuteWalkForm({**WALK, "distance_m": "1200"}, instance=SixMinuteWalk()))[
            "distance_m"
        ]
        == "Not possible"
    )
    assert (
        outcome(SixMinuteWalkForm({**WALK, "distance_m": "40"}, instance=SixMinuteWalk()))[
            "distance_m"
        ]
        == "Unusual value"
    )


@pytest.mark.parametrize(
    ("analyte", "unit", "hard", "soft"),
    [
        ("ferritin", "ng/mL", "120000", "25000"),
        ("ferritin", "pmol/L", "250000", "50000"),  # converted to ng/mL before the check
        ("crp", "mg/L", "600", "250"),
        ("crp", "mg/dL", "60", "25"),
        ("ldh", "U/L", "15", "1500"),
        ("kl6", "U/mL", "60000", "8000"),
        ("lymphocytes", "10^9/L", "60", "0.1"),
        ("ck", "U/L", "200000", "5000"),
    ],
)
def test_laboratory_ranges_after_unit_conversion(analyte, unit, hard, soft):
    field = f"lab_{analyte}_value"
    base = {f"lab_{analyte}_unit": unit}
    assert outcome(LabPanelForm({**base, field: hard}, existing={}))[field] == "Not possible"
    assert outcome(LabPanelForm({**base, field: soft}, existing={}))[field] == "Unusual value"
    assert outcome(LabPanelForm({**base, field: soft, "confirm_unusual": "on"}, existing={})) == {}


def test_the_ph_label_keeps_its_case():
    from outcomes.forms import OxygenationForm

    assert str(OxygenationForm().fields["ph"].label) == "pH"

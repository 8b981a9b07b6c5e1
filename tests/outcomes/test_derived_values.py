"""Derived values, computed never typed (PROTOCOL.md section 5): table-driven."""

from __future__ import annotations

from decimal import Decimal

import pytest

from outcomes.forms import OxygenationForm
from outcomes.models import (
    ConMed,
    HrctScore,
    LabResult,
    Oxygenation,
    PulmonaryFunction,
    berlin_band,
    fio2_estimate,
)


@pytest.mark.parametrize(
    ("pao2", "fio2", "pf"),
    [(80, "0.21", 381.0), (60, "0.55", 109.1), (55, "1.00", 55), (None, "0.4", None)],
)
def test_the_pf_ratio_is_pao2_over_the_fio2_fraction(pao2, fio2, pf):
    assert Oxygenation(pao2=pao2, fio2=Decimal(fio2)).pf_ratio == pf


@pytest.mark.parametrize(
    ("pf", "band"),
    [
        (100, "severe"),
        (100.1, "moderate"),
        (101, "moderate"),
        (200, "moderate"),
        (201, "mild"),
        (300, "mild"),
        (301, "normal"),
        (None, None),
    ],
)
def test_the_berlin_band_of_a_pf_ratio(pf, band):
    assert berlin_band(pf) == band


@pytest.mark.parametrize(
    ("flow", "fio2"), [(0, "0.21"), (1, "0.25"), (3, "0.33"), (6, "0.45"), (25, "1.00")]
)
def test_the_nasal_cannula_fio2_estimate_is_21_plus_4_per_litre(flow, fio2):
    assert fio2_estimate(flow) == Decimal(fio2)


@pytest.mark.parametrize(("spo2", "sf"), [(97, 461.9), (92, 230), (98, None), (100, None)])
def test_the_sf_ratio_is_reported_only_at_or_below_97(spo2, sf):
    fio2 = Decimal("0.21") if sf == 461.9 else Decimal("0.40")
    assert Oxygenation(spo2=spo2, fio2=fio2).sf_ratio == sf


def test_hrct_totals_are_computed_per_pattern_and_overall():
    scores = {
        f"{p}_{lobe}": n
        for p, n in (("gg", 3), ("cons", 1), ("fib", 2))
        for lobe in ("rul", "rml", "rll", "lul", "lll")
    }
    hrct = HrctScore(**scores)
    assert (hrct.gg_total, hrct.cons_total, hrct.fib_total, hrct.total) == (15, 5, 10, 30)


@pytest.mark.parametrize(
    ("drug", "dose", "frequency", "unit", "equivalent"),
    [
        ("prednisone", "30", "qd", "mg", 30.0),
        ("methylprednisolone", "40", "bid", "mg", 100.0),
        ("dexamethasone", "5", "qd", "mg", 33.4),
        ("hydrocortisone", "100", "tid", "mg", 75.0),
        ("methylprednisolone", "500", "once", "mg", 625.0),
        ("", "100", "qd", "mg", None),
    ],
)
def test_glucocorticoid_doses_are_shown_as_prednisone_equivalent(
    drug, dose, frequency, unit, equivalent
):
    med = ConMed(glucocorticoid=drug, dose=Decimal(dose), frequency=frequency, unit=unit)
    assert med.prednisone_equivalent_mg_day == equivalent


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "canonical"),
    [
        ("ferritin", "2247", "pmol/L", 1000.0),
        ("ferritin", "800", "ng/mL", 800.0),
        ("crp", "3.5", "mg/dL", 35.0),
        ("crp", "12", "mg/L", 12.0),
    ],
)
def test_ferritin_and_crp_convert_to_the_analysis_unit(analyte, value, unit, canonical):
    assert LabResult(
        analyte=analyte, value=Decimal(value), unit=unit
    ).canonical_value == pytest.approx(canonical, rel=1e-3)


def test_fev1_fvc_is_computed():
    assert PulmonaryFunction(fev1_l=Decimal("1.6"), fvc_l=Decimal("2.0")).fev1_fvc == 0.8


@pytest.mark.parametrize(
    ("data", "fio2", "source"),
    [
        ({"o2_device": "room_air"}, "0.21", "room_air"),
        ({"o2_device": "nasal_cannula", "o2_flow": "3"}, "0.33", "estimated"),
        ({"o2_device": "hfnc", "o2_flow": "50", "fio2": "60"}, "0.60", "set"),
        ({"o2_device": "mask", "fio2": "0.5"}, "0.50", "set"),
    ],
)
@pytest.mark.django_db
def test_the_oxygenation_form_derives_fio2_and_its_source(data, fio2, source):
    form = OxygenationForm({"sampled_at": "08:00", "pao2": "70", **data}, instance=Oxygenation())
    assert form.is_valid(), form.errors
    assert form.cleaned_data["fio2"] == Decimal(fio2)
    assert form.instance.fio2_source == source

"""Visits, CRF edit checks, deviations, the lab panel, the casebook endpoints, the home page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from enrollment.models import ProtocolDeviation
from outcomes.models import LabResult, Visit, VitalSigns
from tests.factories import bulk_participants, make_participant, make_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(coordinator):
    """On study day 31: baseline, day 14 and day 28 are reachable."""
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=30))


def vitals_data(**changes):
    data = {
        "temperature": "36.8",
        "heart_rate": "92",
        "resp_rate": "22",
        "sbp": "124",
        "dbp": "76",
        "spo2": "94",
        "weight": "58",
        "height": "162",
    }
    data.update({k: str(v) for k, v in changes.items()})
    return data


def test_a_visit_is_started_from_the_casebook_and_its_forms_listed(
    client_for, coordinator, participant
):
    client = client_for(coordinator)
    day14 = participant.anchor + dt.timedelta(days=13)
    response = client.post(
        f"/participants/{participant.participant_id}/visits/new/",
        {"code": "day14", "visit_date": day14.isoformat(), "reason": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == Visit.objects.get().get_absolute_url()
    page = client.get(response["Location"]).content.decode()
    assert "Vital signs" in page and "HRCT score" in page and "missing" in page
    assert not ProtocolDeviation.objects.exists()


def test_a_visit_outside_its_window_creates_a_protocol_deviation_once(coordinator, participant):
    late = participant.anchor + dt.timedelta(days=13 + 4)  # day 14 window is +/-1
    visit = make_visit(participant, coordinator, "day14", on=late)
    deviation = ProtocolDeviation.objects.get()
    assert (
        deviation.category == "visit_window" and deviation.source_key == f"visit-window:{visit.pk}"
    )
    assert "+4 days" in deviation.description
    from outcomes.services import visit_save

    visit.reason = "note"
    visit_save(visit=visit, actor=coordinator, expected_version=visit.version, reason="typo")
    assert ProtocolDeviation.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"visit_date": "FUTURE"}, "This date is in the future."),
        ({"visit_date": "BEFORE_CONSENT"}, "This date is before consent."),
        ({"code": "unscheduled"}, "Say why the participant was seen."),
    ],
)
def test_visit_dates_are_checked(client_for, coordinator, participant, changes, message):
    consent_day = timezone.localdate(participant.screening.consent.consented_at)
    values = {"code": "day28", "visit_date": participant.anchor.isoformat(), "reason": ""}
    for key, value in changes.items():
        values[key] = {
            "FUTURE": (timezone.localdate() + dt.timedelta(days=1)).isoformat(),
            "BEFORE_CONSENT": (consent_day - dt.timedelta(days=1)).isoformat(),
        }.get(value, value)
    response = client_for(coordinator).post(
        f"/participants/{participant.participant_id}/visits/new/", values
    )
    errors = [e for errors in response.context["form"].errors.values() for e in errors]
    assert message in errors


def test_the_same_scheduled_visit_cannot_be_recorded_twice(client_for, coordinator, participant):
    make_visit(participant, coordinator, "baseline")
    response = client_for(coordinator).post(
        f"/participants/{participant.participant_id}/visits/new/",
        {"code": "baseline", "visit_date": participant.anchor.isoformat(), "reason": ""},
    )
    assert response.context["form"].errors["code"] == ["This visit is recorded already."]


def crf_url(visit, form):
    return f"/participants/{visit.participant.participant_id}/visits/{visit.pk}/{form}/"


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("temperature", "46", "hard"),
        ("temperature", "41", "soft"),
        ("heart_rate", "260", "hard"),
        ("heart_rate", "160", "soft"),
        ("resp_rate", "3", "hard"),
        ("resp_rate", "45", "soft"),
        ("sbp", "310", "hard"),
        ("sbp", "210", "soft"),
        ("spo2", "49", "hard"),
        ("spo2", "79", "soft"),
        ("weight", "310", "hard"),
        ("weight", "160", "soft"),
        ("height", "240", "hard"),
        ("height", "205", "soft"),
    ],
)
def test_each_vital_sign_range_is_checked(client_for, coordinator, participant, field, value, kind):
    visit = make_visit(participant, coordinator, "baseline")
    client = client_for(coordinator)
    response = client.post(crf_url(visit, "vitals"), vitals_data(**{field: value}))
    error = response.context["form"].errors[field][0]
    assert error.startswith("Not possible" if kind == "hard" else "Unusual value")
    if kind == "soft":
        response = client.post(
            crf_url(visit, "vitals"), vitals_data(**{field: value}, confirm_unusual="on")
        )
        assert response.status_code == 302
        assert VitalSigns.objects.get().soft_range_fields == [field]
    else:
        response = client.post(
            crf_url(visit, "vitals"), vitals_data(**{field: value}, confirm_unusual="on")
        )
        assert response.status_code == 200
        assert not VitalSigns.objects.exists()


def test_diastolic_must_be_below_systolic(client_for, coordinator, participant):
    visit = make_visit(participant, coordinator, "baseline")
    response = client_for(coordinator).post(crf_url(visit, "vitals"), vitals_data(sbp=100, dbp=110))
    assert response.context["form"].errors["dbp"] == ["Diastolic pressure must be below systolic."]


def test_a_pulmonary_function_test_not_done_needs_its_reason(client_for, coordinator, participant):
    visit = make_visit(participant, coordinator, "baseline")
    response = client_for(coordinator).post(
        crf_url(visit, "pft"), {"done": "False", "not_done_reason": ""}
    )
    assert response.context["form"].errors["not_done_reason"]
    response = client_for(coordinator).post(
        crf_url(visit, "pft"), {"done": "False", "not_done_reason": "on HFNC"}
    )
    assert response.status_code == 302


def test_the_hrct_score_refuses_6_and_shows_computed_totals(client_for, coordinator, participant):
    visit = make_visit(participant, coordinator, "baseline")
    data = {
        "scan_date": participant.anchor.isoformat(),
        "reader": "Dr Lin",
        "blinded": "True",
        "dominant_pattern": "nsip_op",
    }
    data.update(
        {
            f"{p}_{lobe}": "2"
            for p in ("gg", "cons", "fib")
            for lobe in ("rul", "rml", "rll", "lul", "lll")
        }
    )
    client = client_for(coordinator)
    response = client.post(crf_url(visit, "hrct"), {**data, "gg_rul": "6"})
    assert response.context["form"].errors["gg_rul"]
    assert client.post(crf_url(visit, "hrct"), data).status_code == 302
    page = client.get(visit.get_absolute_url()).content.decode()
    assert 'data-testid="hrct-total">30<' in page


def lab_data(**changes):
    data = {"lab_ferritin_value": "1850", "lab_ferritin_unit": "ng/mL", "lab_ferritin_low": "15", "lab_ferritin_high": "150", "lab_ferritin_cs": "true",
            "lab_crp_value": "3.1", "lab_crp_unit": "mg/dL", "lab_crp_low": "0", "lab_crp_high": "10", "lab_crp_cs": "unknown"}  # fmt: skip
    data.update({k: str(v) for k, v in changes.items()})
    return data


def test_the_lab_panel_stores_results_with_units_and_converts_for_analysis(
    client_for, coordinator, participant
):
    visit = make_visit(participant, coordinator, "baseline")
    response = client_for(coordinator).post(
        f"/participants/{participant.participant_id}/visits/{visit.pk}/labs/", lab_data()
    )
    assert response.status_code == 302
    crp = LabResult.objects.get(analyte="crp")
    assert (crp.unit, crp.canonical_value) == ("mg/dL", 31.0)
    assert LabResult.objects.get(analyte="ferritin").clinically_significant is True
    assert LabResult.objects.count() == 2  # empty tests are not stored


def test_a_lab_value_outside_the_hard_range_is_refused_and_a_soft_one_confirmed(
    client_for, coordinator, participant
):
    visit = make_visit(participant, coordinator, "baseline")
    url = f"/participants/{participant.participant_id}/visits/{visit.pk}/labs/"
    client = client_for(coordinator)
    response = client.post(url, lab_data(lab_ferritin_value="200000"))
    assert response.context["form"].errors["lab_ferritin_value"][0].startswith("Not possible")
    response = client.post(url, lab_data(lab_ferritin_value="30000"))
    assert response.context["form"].errors["lab_ferritin_value"][0].startswith("Unusual value")
    assert "200000" not in response.content.decode() and "30000" in response.content.decode()
    assert (
        client.post(url, lab_data(lab_ferritin_value="30000", confirm_unusual="on")).status_code
        == 302
    )
    assert LabResult.objects.get(analyte="ferritin").soft_range_fields == ["value"]


def test_changing_a_lab_result_needs_a_reason(client_for, coordinator, participant):
    visit = make_visit(participant, coordinator, "baseline")
    url = f"/participants/{participant.participant_id}/visits/{visit.pk}/labs/"
    client = client_for(coordinator)
    client.post(url, lab_data())
    # The page posts back the version of each result it showed.
    response = client.post(url, lab_data(lab_ferritin_value="1900", lab_ferritin_version="1"))
    assert response.context["form"].errors["reason_for_change"]
    assert (
        client.post(
            url,
            lab_data(
                lab_ferritin_value="1900",
                lab_ferritin_version="1",
                reason_for_change="transcription",
            ),
        ).status_code
        == 302
    )
    assert float(LabResult.objects.get(analyte="ferritin").value) == 1900


def test_the_casebook_shows_change_from_baseline_and_plots(client_for, coordinator, participant):
    from outcomes.models import Oxygenation

    client = client_for(coordinator)
    for code, pao2 in (("baseline", 60), ("day14", 75), ("day28", 88)):
        visit = make_visit(participant, coordinator, code)
        from crf.services import record_create

        record_create(
            record=Oxygenation(
                visit=visit,
                sampled_at=dt.time(8),
                o2_device="mask",
                fio2="0.40",
                fio2_source="set",
                pao2=pao2,
            ),
            actor=coordinator,
        )
    html = client.get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="change-from-baseline"' in html
    assert "+70" in html  # P/F 150 -> 220 at day 28
    svg = client.get(f"/participants/{participant.participant_id}/plots/pf_ratio.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content and b"P/F ratio" in svg.content


def test_the_home_page_lists_overdue_due_today_and_this_week(client_for, coordinator):
    today = timezone.localdate()
    make_participant(
        coordinator, first_dose=today - dt.timedelta(days=20)
    )  # dosing over, doses missed, day 14 passed
    make_participant(coordinator, first_dose=today)  # day 1: baseline and the dose due today
    html = client_for(coordinator).get("/").content.decode()
    assert 'data-count="overdue">' in html
    import re

    counts = {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}
    assert counts["overdue"] >= 15  # 14 missed doses + the day 14 visit
    assert counts["today"] >= 2  # baseline window + dose of day 1


@pytest.mark.parametrize("count", [10, 1000])
def test_the_home_page_issues_a_fixed_number_of_queries(
    client_for, coordinator, django_assert_max_num_queries, count
):
    bulk_participants(coordinator, count)
    client = client_for(coordinator)
    with django_assert_max_num_queries(16):
        assert client.get("/").status_code == 200

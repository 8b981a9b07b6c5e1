"""Clinical dates are plausible against the participant's timeline (create and edit alike)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from safety.models import AdverseEvent, SafetyReport
from safety.services import safety_report_add
from tests.factories import make_ae, make_participant
from tests.safety.test_adverse_events import ae_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=6))


@pytest.mark.parametrize("aware", ["1800-01-01T10:00", "1999-12-31T23:59"])
def test_an_awareness_before_the_onset_is_refused_at_the_field(
    client_for, coordinator, participant, aware
):
    data = ae_data(participant)
    data["awareness_at"] = aware
    response = client_for(coordinator).post(f"/safety/ae/new/{participant.participant_id}/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors["awareness_at"]
    assert errors
    assert not AdverseEvent.objects.exists()
    assert aware in response.content.decode()


def test_an_awareness_in_1800_is_refused_on_edit(client_for, coordinator, participant):
    ae = make_ae(participant, coordinator, term="Cough", grade=1)
    data = ae_data(participant)
    data.update(awareness_at="1800-01-01T10:00", version=str(ae.version))
    data["reason_for_change"] = "typo"
    response = client_for(coordinator).post(f"/safety/ae/{ae.pk}/edit/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["awareness_at"]
    ae.refresh_from_db()
    assert ae.awareness_at.year > 1800


def test_the_service_refuses_a_safety_report_sent_before_awareness(coordinator, participant):
    ae = make_ae(participant, coordinator, term="Cough", grade=1)
    report = SafetyReport(
        adverse_event=ae,
        kind=SafetyReport._meta.get_field("kind").choices[0][0],
        sent_at=timezone.make_aware(dt.datetime(1800, 1, 1, 10)),
        sent_to="ethics committee",
    )
    with pytest.raises(ValidationError) as raised:
        safety_report_add(report=report, actor=coordinator)
    assert "sent_at" in raised.value.message_dict


def test_a_follow_up_report_sent_before_the_report_it_follows_is_refused(coordinator, participant):
    aware = timezone.now() - dt.timedelta(days=3)
    ae = make_ae(
        participant,
        coordinator,
        term="Hypoxia",
        grade=3,
        serious=True,
        sae_hospitalisation=True,
        awareness_at=aware,
    )
    sent = aware + dt.timedelta(hours=3)
    initial = safety_report_add(
        report=SafetyReport(
            adverse_event=ae, kind="initial", sent_at=sent, sent_to="sponsor safety desk"
        ),
        actor=coordinator,
    )
    early = SafetyReport(
        adverse_event=ae,
        kind="follow_up",
        follows=initial,
        sent_at=sent - dt.timedelta(hours=1),
        sent_to="sponsor safety desk",
    )
    with pytest.raises(ValidationError) as raised:
        safety_report_add(report=early, actor=coordinator)
    assert [e.code for e in raised.value.error_dict["sent_at"]] == ["before_followed"]
    early.sent_at = sent + dt.timedelta(days=1)
    assert safety_report_add(report=early, actor=coordinator).pk


@pytest.mark.parametrize(
    ("form_code", "field"), [("hrct", "scan_date"), ("survival", "death_date")]
)
def test_a_visit_crf_date_before_consent_is_refused_at_the_field(
    client_for, coordinator, participant, form_code, field
):
    from tests.factories import make_visit

    visit = make_visit(participant, coordinator, "day14", on=timezone.localdate())
    response = client_for(coordinator).post(
        f"/participants/{participant.participant_id}/visits/{visit.pk}/{form_code}/",
        {field: "1800-01-01", "vital_status": "dead", "death_cause": "x"},
    )
    assert response.status_code == 200
    codes = [e.code for e in response.context["form"].errors.as_data()[field]]
    assert "before_consent" in codes


def test_a_conmed_started_before_birth_is_refused_at_the_field(
    client_for, coordinator, participant
):
    response = client_for(coordinator).post(
        f"/participants/{participant.participant_id}/conmeds/new/",
        {"drug": "prednisone", "dose": "10", "unit": "mg", "start_date": "0387-08-23"},
    )
    assert response.status_code == 200
    codes = [e.code for e in response.context["form"].errors.as_data()["start_date"]]
    assert "before_birth" in codes

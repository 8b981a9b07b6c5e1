"""Screening, consent and enrollment through the pages: bad input is refused at the field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from enrollment.models import Participant, Screening
from tests.factories import make_consent, make_participant, make_screening, screening_form_data

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def post_screening(client, **changes):
    return client.post("/screening/new/", screening_form_data(**changes))


def field_error(response, field: str) -> list[str]:
    assert response.status_code == 200, response.status_code
    return response.context["form"].errors.get(field, [])


def test_a_coordinator_screens_a_patient_and_sees_the_verdict(client_for, coordinator):
    client = client_for(coordinator)
    response = post_screening(client)
    assert response.status_code == 302
    screening = Screening.objects.get()
    assert response["Location"] == screening.get_absolute_url()
    page = client.get(response["Location"]).content.decode()
    assert "Eligible" in page
    assert "Record consent" in page


def test_an_ineligible_screen_shows_every_reason(client_for, coordinator):
    client = client_for(coordinator)
    response = post_screening(client, rpild_confirmed="False", severe_allergy="True")
    page = client.get(response["Location"]).content.decode()
    assert "RP-ILD not confirmed by the investigator" in page
    assert "History of anaphylaxis or allergy to product components" in page


def test_a_date_of_birth_in_the_future_is_refused_and_the_input_kept(client_for, coordinator):
    client = client_for(coordinator)
    future = (TODAY() + dt.timedelta(days=3)).isoformat()
    response = post_screening(client, date_of_birth=future)
    assert field_error(response, "date_of_birth") == ["This date is in the future."]
    assert f'value="{future}"' in response.content.decode()
    assert not Screening.objects.exists()


def test_other_condition_yes_needs_its_description(client_for, coordinator):
    client = client_for(coordinator)
    response = post_screening(client, other_unsafe="True", other_unsafe_text="")
    assert field_error(response, "other_unsafe_text") == ["Describe the condition judged unsafe."]
    assert (
        'value="True" checked' in response.content.decode()
        or "checked" in response.content.decode()
    )


def test_a_positive_anti_mda5_needs_a_titre(client_for, coordinator):
    response = post_screening(client_for(coordinator), mda5_titre="")
    assert field_error(response, "mda5_titre") == ["Give the titre of a positive result."]


def test_a_woman_of_childbearing_potential_needs_a_pregnancy_test(client_for, coordinator):
    response = post_screening(client_for(coordinator), childbearing_potential="True")
    assert field_error(response, "pregnancy_test_result")


def test_men_are_not_asked_about_pregnancy(client_for, coordinator):
    client = client_for(coordinator)
    response = post_screening(client, sex="M", childbearing_potential="")
    assert response.status_code == 302
    assert Screening.objects.get().childbearing_potential is None


def consent_data(at: dt.datetime | str, **changes) -> dict:
    value = at if isinstance(at, str) else timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")
    return {"form_version": "2.1", "consented_at": value, **changes}


@pytest.mark.parametrize("years", [17, 76])
def test_age_outside_18_to_75_at_consent_is_refused_at_the_field(client_for, coordinator, years):
    client = client_for(coordinator)
    today = TODAY()
    birth = dt.date(today.year - years, today.month, 1) - dt.timedelta(days=1)
    if birth.replace(year=today.year) > today:
        birth = birth.replace(year=birth.year - 1) if years == 76 else birth
    screening = make_screening(coordinator, date_of_birth=dt.date(today.year - years, 1, 1))
    at = timezone.now() - dt.timedelta(hours=1)
    response = client.post(
        f"/screening/{screening.pk}/consent/", consent_data(at, obtained_by=coordinator.pk)
    )
    errors = field_error(response, "consented_at")
    assert errors and f"Age at consent would be {years}" in errors[0]
    assert "2.1" in response.content.decode()


def test_consent_in_the_future_is_refused(client_for, coordinator):
    screening = make_screening(coordinator)
    at = timezone.now() + dt.timedelta(days=1)
    response = client_for(coordinator).post(
        f"/screening/{screening.pk}/consent/", consent_data(at, obtained_by=coordinator.pk)
    )
    assert field_error(response, "consented_at") == ["Consent cannot be dated in the future."]


def test_consent_dated_after_enrollment_is_refused(client_for, coordinator):
    participant = make_participant(coordinator)
    consent = participant.screening.consent
    later = timezone.make_aware(
        dt.datetime.combine(participant.enrollment_date + dt.timedelta(days=1), dt.time(10))
    )
    response = client_for(coordinator).post(
        f"/screening/{participant.screening.pk}/consent/",
        consent_data(
            later, obtained_by=coordinator.pk, version=consent.version, reason_for_change="typo"
        ),
    )
    errors = field_error(response, "consented_at")
    assert errors and errors[0].startswith("Consent cannot be after enrollment")


def enroll_data(screening, **changes) -> dict:
    data = {
        "enrollment_date": screening.screening_date.isoformat(),
        "planned_first_dose": (screening.screening_date + dt.timedelta(days=3)).isoformat(),
    }
    data.update(changes)
    return data


def test_enrollment_allocates_the_participant_id_and_opens_the_casebook(client_for, coordinator):
    client = client_for(coordinator)
    screening = make_screening(coordinator)
    make_consent(screening, coordinator)
    response = client.post(f"/screening/{screening.pk}/enroll/", enroll_data(screening))
    assert response.status_code == 302
    assert response["Location"] == "/participants/MDA5-001/"
    page = client.get(response["Location"]).content.decode()
    assert "MDA5-001" in page
    assert "Day 28" in page


def test_enrollment_without_consent_is_refused(client_for, coordinator):
    screening = make_screening(coordinator)
    response = client_for(coordinator).post(
        f"/screening/{screening.pk}/enroll/", enroll_data(screening)
    )
    assert response.status_code == 200
    assert "Record the informed consent before enrolling." in response.content.decode()
    assert not Participant.objects.exists()


def test_an_empty_enrollment_post_without_consent_shows_the_refusal(client_for, coordinator):
    screening = make_screening(coordinator)
    response = client_for(coordinator).post(f"/screening/{screening.pk}/enroll/", {})
    assert response.status_code == 200
    assert "Record the informed consent before enrolling." in response.content.decode()
    assert not Participant.objects.exists()


def test_an_ineligible_screen_cannot_be_enrolled(client_for, coordinator):
    screening = make_screening(coordinator, pulmonary_embolism=True)
    make_consent(screening, coordinator)
    response = client_for(coordinator).post(
        f"/screening/{screening.pk}/enroll/", enroll_data(screening)
    )
    assert "This screening is not eligible: Pulmonary embolism." in response.content.decode()
    assert not Participant.objects.exists()


def test_the_same_screen_cannot_be_enrolled_twice(client_for, coordinator):
    participant = make_participant(coordinator)
    screening = participant.screening
    response = client_for(coordinator).post(
        f"/screening/{screening.pk}/enroll/", enroll_data(screening)
    )
    assert "already enrolled as MDA5-001" in response.content.decode()
    assert Participant.objects.count() == 1


def test_a_planned_first_dose_before_consent_is_refused_at_the_field(client_for, coordinator):
    screening = make_screening(coordinator)
    consent = make_consent(screening, coordinator)
    before = timezone.localdate(consent.consented_at) - dt.timedelta(days=1)
    response = client_for(coordinator).post(
        f"/screening/{screening.pk}/enroll/",
        enroll_data(screening, planned_first_dose=before.isoformat()),
    )
    assert field_error(response, "planned_first_dose") == ["The first dose cannot precede consent."]
    assert before.isoformat() in response.content.decode()


def test_a_first_dose_beyond_the_screening_window_is_refused(client_for, coordinator):
    screening = make_screening(coordinator)
    make_consent(screening, coordinator)
    late = screening.screening_date + dt.timedelta(days=15)
    response = client_for(coordinator).post(
        f"/screening/{screening.pk}/enroll/",
        enroll_data(screening, planned_first_dose=late.isoformat()),
    )
    assert "re-screen otherwise" in field_error(response, "planned_first_dose")[0]


def test_the_eleventh_participant_is_refused_with_a_clear_message(client_for, coordinator):
    for _ in range(10):
        make_participant(coordinator)
    screening = make_screening(coordinator)
    make_consent(screening, coordinator)
    response = client_for(coordinator).post(
        f"/screening/{screening.pk}/enroll/", enroll_data(screening)
    )
    assert response.status_code == 200
    assert "The enrollment cap of 10 participants is reached" in response.content.decode()
    assert Participant.objects.count() == 10


def test_a_re_screen_links_to_the_earlier_screen(client_for, coordinator):
    client = client_for(coordinator)
    first = make_screening(coordinator, active_pulmonary_infection=True)
    form = client.get(f"/screening/{first.pk}/rescreen/")
    assert form.context["form"].initial["date_of_birth"] == first.date_of_birth
    response = client.post(f"/screening/{first.pk}/rescreen/", screening_form_data())
    second = Screening.objects.exclude(pk=first.pk).get()
    assert second.previous_screening == first
    assert second.eligible
    assert first.screening_number in client.get(response["Location"]).content.decode()


def test_a_monitor_reads_screens_but_cannot_enter_or_see_identity(client_for, coordinator, monitor):
    screening = make_screening(coordinator)
    client_for(coordinator).post(
        f"/screening/{screening.pk}/identity/",
        {"full_name": "Wang Fang", "hospital_record_number": "H123"},
    )
    client = client_for(monitor)
    page = client.get(screening.get_absolute_url())
    assert page.status_code == 200
    assert "Wang Fang" not in page.content.decode()
    assert client.get("/screening/new/").status_code == 403
    assert client.get(f"/screening/{screening.pk}/identity/").status_code == 403
    identity = screening.identity
    assert client.get(identity.history_url()).status_code == 403


def test_site_staff_see_the_identity(client_for, coordinator, investigator):
    screening = make_screening(coordinator)
    client_for(coordinator).post(
        f"/screening/{screening.pk}/identity/",
        {"full_name": "Wang Fang", "hospital_record_number": "H123"},
    )
    assert (
        "Wang Fang" in client_for(investigator).get(screening.get_absolute_url()).content.decode()
    )


def test_participant_pages_never_show_identifying_details(client_for, coordinator):
    participant = make_participant(coordinator)
    client = client_for(coordinator)
    client.post(
        f"/screening/{participant.screening.pk}/identity/",
        {"full_name": "Wang Fang", "hospital_record_number": "H123", "phone": "13800000000"},
    )
    for url in ("/participants/", "/consort/", "/screening/"):
        html = client.get(url).content.decode()
        assert "Wang Fang" not in html and "H123" not in html and "13800000000" not in html


@pytest.mark.parametrize(
    "url",
    ["/screening/", "/screening/new/", "/participants/", "/consort/"],
)
def test_a_dsmb_member_cannot_open_clinical_pages(client_for, dsmb_member, url):
    assert client_for(dsmb_member).get(url).status_code == 403

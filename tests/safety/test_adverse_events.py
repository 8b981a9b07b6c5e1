"""Adverse events: CTCAE terms and grades, consistency rules, two steps, follow-ups (PROTOCOL §6)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from safety.models import AdverseEvent, AeFollowUp, CtcaeTerm
from safety.services import ae_follow_up_add
from tests.factories import assess, make_ae, make_participant

pytestmark = pytest.mark.django_db

CSV = Path(__file__).resolve().parents[2] / "safety" / "data" / "ctcae_v5_terms.csv"


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=6))


def test_the_ctcae_table_holds_every_term_of_the_reference_file():
    with CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert CtcaeTerm.objects.count() == len(rows) == 837
    cough = CtcaeTerm.objects.get(term="Cough")
    assert cough.meddra_code == 10011224
    assert cough.soc == "Respiratory, thoracic and mediastinal disorders"
    assert CtcaeTerm.objects.filter(term__endswith="Other, specify").count() == 26


@pytest.mark.parametrize(
    ("term", "grades"), [("Cough", [1, 2, 3]), ("Anaphylaxis", [3, 4, 5]), ("Death NOS", [5])]
)
def test_grade_choices_follow_the_term(term, grades):
    assert CtcaeTerm.objects.get(term=term).grades == grades


def ae_data(participant, **changes) -> dict:
    data = {
        "verbatim_term": "dry cough after nebulization",
        "term": str(CtcaeTerm.objects.get(term="Cough").pk),
        "other_specify": "",
        "onset_date": participant.first_dose_date.isoformat(),
        "onset_time": "10:30",
        "ongoing": "True",
        "end_date": "",
        "grade": "1",
        "serious": "False",
        "sae_death": "False",
        "sae_life_threatening": "False",
        "sae_hospitalisation": "False",
        "sae_disability": "False",
        "sae_congenital": "False",
        "sae_important": "False",
        "death_date": "",
        "action_taken": "none",
        "outcome": "recovering",
        "treatment": "",
        "awareness_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    data.update({key: str(value) for key, value in changes.items()})
    return data


def post_ae(client, participant, **changes):
    return client.post(
        f"/safety/ae/new/{participant.participant_id}/", ae_data(participant, **changes)
    )


def field_errors(response, field):
    assert response.status_code == 200, response.status_code
    return response.context["form"].errors.get(field, [])


def test_a_coordinator_reports_an_adverse_event(client_for, coordinator, participant):
    response = post_ae(client_for(coordinator), participant)
    assert response.status_code == 302
    ae = AdverseEvent.objects.get()
    assert (ae.number, ae.grade, ae.is_assessed) == (1, 1, False)
    assert response["Location"] == ae.get_absolute_url()


def test_a_grade_the_term_does_not_define_is_refused(client_for, coordinator, participant):
    response = post_ae(client_for(coordinator), participant, grade=4)
    assert field_errors(response, "grade")
    assert not AdverseEvent.objects.exists()


def test_the_service_refuses_a_grade_the_term_does_not_define(coordinator, participant):
    with pytest.raises(ValidationError):
        make_ae(participant, coordinator, term="Anaphylaxis", grade=1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"serious": "True"}, "serious"),
        ({"sae_hospitalisation": "True"}, "serious"),
        (
            {
                "term": "Death NOS",
                "grade": 5,
                "outcome": "recovering",
                "serious": "True",
                "sae_death": "True",
            },
            "outcome",
        ),
        (
            {
                "term": "Death NOS",
                "grade": 5,
                "outcome": "fatal",
                "serious": "True",
                "sae_death": "True",
                "ongoing": "False",
                "end_date": "TODAY",
            },
            "death_date",
        ),
        (
            {
                "outcome": "fatal",
                "serious": "True",
                "sae_death": "True",
                "ongoing": "False",
                "end_date": "TODAY",
                "death_date": "TODAY",
            },
            "grade",
        ),
        ({"ongoing": "False", "end_date": "BEFORE"}, "end_date"),
        ({"end_date": "TODAY"}, "end_date"),
        ({"onset_date": "BEFORE"}, "onset_date"),
        (
            {"term": "Respiratory, thoracic and mediastinal disorders - Other, specify"},
            "other_specify",
        ),
        ({"outcome": "recovered"}, "ongoing"),
    ],
)
def test_each_consistency_rule_is_checked_at_its_field(
    client_for, coordinator, participant, changes, field
):
    today = timezone.localdate()
    values = {}
    for key, value in changes.items():
        if key == "term":
            value = CtcaeTerm.objects.get(term=value).pk
        value = {
            "TODAY": today.isoformat(),
            "BEFORE": (participant.first_dose_date - dt.timedelta(days=1)).isoformat(),
        }.get(value, value)
        values[key] = value
    response = post_ae(client_for(coordinator), participant, **values)
    assert field_errors(response, field), response.context["form"].errors
    assert not AdverseEvent.objects.exists()


def test_the_database_refuses_a_serious_event_without_criterion(coordinator, participant):
    base = {
        "participant": participant,
        "number": 9,
        "verbatim_term": "x",
        "term": CtcaeTerm.objects.get(term="Cough"),
        "onset_date": participant.first_dose_date,
        "grade": 1,
        "action_taken": "none",
        "outcome": "recovering",
        "awareness_at": timezone.now(),
        "created_by": coordinator,
        "updated_by": coordinator,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(serious=True, **base)
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(serious=False, sae_important=True, **base)
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(
            serious=False, outcome="fatal", **{k: v for k, v in base.items() if k != "outcome"}
        )


def test_ae_numbers_run_per_participant(coordinator, participant):
    other = make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=3))
    first = make_ae(participant, coordinator)
    second = make_ae(participant, coordinator, term="Fever")
    third = make_ae(other, coordinator)
    assert (first.number, second.number, third.number) == (1, 2, 1)


def test_a_change_of_grade_is_a_follow_up_and_the_worst_grade_is_kept(coordinator, participant):
    ae = make_ae(participant, coordinator, term="Dyspnea", grade=1)
    today = timezone.localdate()
    ae_follow_up_add(
        follow_up=AeFollowUp(
            adverse_event=ae, on_date=today - dt.timedelta(days=3), grade=3, note="on HFNC"
        ),
        actor=coordinator,
    )
    ae_follow_up_add(
        follow_up=AeFollowUp(adverse_event=ae, on_date=today, grade=2), actor=coordinator
    )
    ae.refresh_from_db()
    assert ae.grade == 1  # the first report is never overwritten
    assert [grade for _on, grade, _note in ae.grade_history()] == [1, 3, 2]
    assert (ae.worst_grade, ae.current_grade) == (3, 2)


def test_the_grade_of_a_submitted_report_cannot_be_edited(client_for, coordinator, participant):
    ae = make_ae(participant, coordinator)
    data = ae_data(participant, grade=3, version=ae.version, reason_for_change="worse")
    client_for(coordinator).post(f"/safety/ae/{ae.pk}/edit/", data)
    ae.refresh_from_db()
    assert ae.grade == 1


def test_a_grade_5_follow_up_makes_the_outcome_fatal(coordinator, participant):
    ae = make_ae(participant, coordinator, term="Dyspnea", grade=3)
    ae_follow_up_add(
        follow_up=AeFollowUp(adverse_event=ae, on_date=timezone.localdate(), grade=5),
        actor=coordinator,
    )
    ae.refresh_from_db()
    assert (ae.outcome, ae.death_date, ae.worst_grade) == ("fatal", timezone.localdate(), 5)


def test_the_coordinator_reports_and_the_investigator_assesses(
    client_for, coordinator, investigator, participant
):
    ae = make_ae(participant, coordinator)
    assert client_for(coordinator).get(f"/safety/ae/{ae.pk}/assess/").status_code == 403
    client = client_for(investigator)
    dashboard = client.get("/safety/").content.decode()
    assert f"/safety/ae/{ae.pk}/assess/" in dashboard
    response = client.post(
        f"/safety/ae/{ae.pk}/assess/",
        {
            "rel_study_drug": "probably",
            "rel_background": "possibly_not",
            "expected": "False",
            "ib_version": "3.0",
            "grade_confirmed": "on",
            "version": ae.version,
        },
    )
    assert response.status_code == 302
    ae.refresh_from_db()
    assert (ae.assessed_by, ae.related, ae.expected) == (investigator, True, False)
    assert ae.assessed_at is not None


def test_an_assessment_needs_both_relationships_and_expectedness(
    client_for, investigator, coordinator, participant
):
    ae = make_ae(participant, coordinator)
    response = client_for(investigator).post(
        f"/safety/ae/{ae.pk}/assess/", {"version": ae.version, "grade_confirmed": "on"}
    )
    errors = response.context["form"].errors
    assert {"rel_study_drug", "rel_background", "expected", "ib_version"} <= set(errors)


def test_susar_is_serious_related_and_unexpected(coordinator, investigator, participant):
    ae = make_ae(
        participant, coordinator, term="Dyspnea", grade=3, serious=True, sae_hospitalisation=True
    )
    assert not ae.susar
    ae = assess(ae, investigator, related="possibly", expected=False)
    assert ae.susar
    ae = assess(ae, investigator, related="possibly_not", expected=False)
    assert not ae.susar


def test_an_inhalation_event_opens_a_prefilled_ae_form(client_for, coordinator, participant):
    response = client_for(coordinator).get(
        f"/safety/ae/new/{participant.participant_id}/?term=Hypoxia&onset={participant.first_dose_date}&verbatim=Desaturation"
    )
    form = response.context["form"]
    assert form.initial["verbatim_term"] == "Desaturation"
    assert form.initial["term"] == CtcaeTerm.objects.get(term="Hypoxia").pk
    assert [value for value, _label in form.fields["grade"].choices] == [2, 3, 4, 5]


def test_the_term_search_and_grade_choices_answer_htmx(client_for, coordinator):
    client = client_for(coordinator)
    html = client.get("/safety/terms/?q=cough").content.decode()
    assert ">Cough<" in html and ">Anaphylaxis<" not in html
    anaphylaxis = CtcaeTerm.objects.get(term="Anaphylaxis")
    html = client.get(f"/safety/terms/grades/?term={anaphylaxis.pk}").content.decode()
    assert 'value="3"' in html and 'value="1"' not in html
    assert "Life-threatening consequences" in html

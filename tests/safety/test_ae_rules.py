"""Adverse-event consistency rules hold on edit as on create, in the form and in the service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crf.rules import rule_errors
from safety import rules
from safety.forms import FollowUpForm
from safety.models import AdverseEvent, AeFollowUp, CtcaeTerm, SafetyReport
from safety.services import adverse_event_report, ae_follow_up_add, safety_report_add
from tests.factories import make_ae, make_participant
from tests.safety.test_adverse_events import ae_data

pytestmark = pytest.mark.django_db

FATAL = {
    "outcome": "fatal",
    "serious": "True",
    "sae_death": "True",
    "ongoing": "False",
    "end_date": "TODAY",
    "death_date": "TODAY",
}


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=6))


def submit(client, participant, mode: str, base: dict, changes: dict):
    """Post `changes` over `base` as a new report, or as an edit of a report of `base`."""
    base, changes = _post_values(participant, base), _post_values(participant, changes)
    if mode == "create":
        return client.post(
            f"/safety/ae/new/{participant.participant_id}/",
            ae_data(participant, **{**base, **changes}),
        )
    created = client.post(
        f"/safety/ae/new/{participant.participant_id}/", ae_data(participant, **base)
    )
    assert created.status_code == 302, created.context["form"].errors
    ae = AdverseEvent.objects.get()
    data = ae_data(participant, **{**base, **changes})
    data.update(version=str(ae.version), reason_for_change="correction")
    return client.post(f"/safety/ae/{ae.pk}/edit/", data)


@pytest.mark.parametrize("mode", ["create", "edit"])
def test_a_fatal_outcome_on_a_grade_3_event_is_refused_on_edit_as_on_create(
    client_for, coordinator, participant, mode
):
    response = submit(
        client_for(coordinator), participant, mode, {"term": "Dyspnea", "grade": 3}, FATAL
    )
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["grade"]] == [
        "fatal_not_grade5"
    ]
    assert not AdverseEvent.objects.filter(outcome="fatal").exists()


def test_the_service_refuses_a_fatal_outcome_on_a_grade_3_event(coordinator, participant):
    ae = make_ae(participant, coordinator, term="Dyspnea", grade=3)
    today = timezone.localdate()
    ae.outcome, ae.serious, ae.sae_death = "fatal", True, True
    ae.ongoing, ae.end_date, ae.death_date = False, today, today
    with pytest.raises(ValidationError) as refused:
        adverse_event_report(ae=ae, actor=coordinator, expected_version=ae.version, reason="died")
    assert [e.code for e in refused.value.error_dict["grade"]] == ["fatal_not_grade5"]
    ae.refresh_from_db()
    assert ae.outcome == "recovering"


DEATH = {"term": "Death NOS", "grade": 5, **FATAL}
# (base report, changes, field, code): every consistency rule, each checked on a new report and
# on an edit of a valid report of `base`.
CASES = [
    ({}, {"serious": "True"}, "serious", "serious_without_criterion"),
    ({}, {"sae_hospitalisation": "True"}, "serious", "criterion_not_serious"),
    (
        DEATH,
        {"outcome": "recovering", "ongoing": "True", "end_date": "", "death_date": ""},
        "outcome",
        "grade5_not_fatal",
    ),
    (DEATH, {"death_date": ""}, "death_date", "required"),
    (DEATH, {"death_date": "BEFORE"}, "death_date", "order"),
    (DEATH, {"sae_death": "False", "sae_important": "True"}, "sae_death", "fatal_not_death"),
    ({"term": "Cough", "grade": 1}, FATAL, "grade", "fatal_not_grade5"),
    ({}, {"ongoing": "False", "end_date": "BEFORE"}, "end_date", "order"),
    ({}, {"ongoing": "False", "end_date": "TOMORROW"}, "end_date", "future"),
    ({}, {"end_date": "TODAY"}, "end_date", "ongoing"),
    ({}, {"ongoing": "False"}, "end_date", "required"),
    ({}, {"onset_date": "BEFORE"}, "onset_date", "before_first_dose"),
    ({}, {"onset_date": "TOMORROW"}, "onset_date", "future"),
    ({}, {"awareness_at": "IN_AN_HOUR"}, "awareness_at", "future"),
    (
        {},
        {"term": "Respiratory, thoracic and mediastinal disorders - Other, specify"},
        "other_specify",
        "required",
    ),
    ({}, {"outcome": "recovered"}, "ongoing", "outcome"),
]
CASE_IDS = [f"{field}-{code}" for _base, _changes, field, code in CASES]


def _token(participant, value):
    today = timezone.localdate()
    return {
        "TODAY": today,
        "TOMORROW": today + dt.timedelta(days=1),
        "BEFORE": participant.first_dose_date - dt.timedelta(days=1),
        "IN_AN_HOUR": timezone.localtime() + dt.timedelta(hours=1),
    }.get(value, value)


def _post_values(participant, changes: dict) -> dict:
    values = {}
    for key, value in changes.items():
        value = _token(participant, value)
        if key == "term":
            value = CtcaeTerm.objects.get(term=value).pk
        elif isinstance(value, dt.datetime):
            value = value.strftime("%Y-%m-%dT%H:%M")
        elif isinstance(value, dt.date):
            value = value.isoformat()
        values[key] = value
    return values


def _model_values(participant, changes: dict) -> dict:
    values = {}
    for key, value in changes.items():
        value = _token(participant, value)
        if key == "term":
            value = CtcaeTerm.objects.get(term=value)
        elif value in ("True", "False"):
            value = value == "True"
        elif value == "":
            value = None
        values[key] = value
    return values


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(("base", "changes", "field", "code"), CASES, ids=CASE_IDS)
def test_each_rule_is_checked_at_its_field_on_create_and_on_edit(
    client_for, coordinator, participant, mode, base, changes, field, code
):
    response = submit(client_for(coordinator), participant, mode, base, changes)
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert code in [error.code for error in errors.get(field, [])], errors
    if mode == "create":
        assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(("base", "changes", "field", "code"), CASES, ids=CASE_IDS)
def test_the_service_holds_each_rule_on_create_and_on_edit(
    coordinator, participant, mode, base, changes, field, code
):
    base = _model_values(participant, base)
    changes = _model_values(participant, changes)
    if mode == "create":
        values = {
            "participant": participant,
            "verbatim_term": "x",
            "term": CtcaeTerm.objects.get(term="Cough"),
            "onset_date": participant.first_dose_date,
            "grade": 1,
            "serious": False,
            "action_taken": "none",
            "outcome": "recovering",
            "ongoing": True,
        }
        ae = AdverseEvent(**{**values, **base, **changes})
        expected_version = None
    else:
        if "term" in base:
            base["term"] = base["term"].term  # make_ae takes the term's name
        ae = make_ae(participant, coordinator, **base)
        for name, value in changes.items():
            setattr(ae, name, value)
        expected_version = ae.version
    with pytest.raises(ValidationError) as refused:
        adverse_event_report(
            ae=ae, actor=coordinator, expected_version=expected_version, reason="correction"
        )
    assert code in [error.code for error in refused.value.error_dict[field]]


def test_an_event_made_fatal_by_a_grade_5_follow_up_stays_editable(coordinator, participant):
    ae = make_ae(participant, coordinator, term="Dyspnea", grade=3)
    ae_follow_up_add(
        follow_up=AeFollowUp(adverse_event=ae, on_date=timezone.localdate(), grade=5),
        actor=coordinator,
    )
    ae.refresh_from_db()
    assert (ae.outcome, ae.serious, ae.sae_death) == ("fatal", True, True)
    ae.treatment = "Intubated; died in the ICU"
    ae = adverse_event_report(
        ae=ae, actor=coordinator, expected_version=ae.version, reason="treatment added"
    )
    assert ae.treatment.startswith("Intubated")


def test_the_rules_read_a_plain_dict():
    today = timezone.localdate()
    fatal = {
        "outcome": "fatal",
        "sae_death": True,
        "serious": True,
        "death_date": today,
        "ongoing": False,
        "end_date": today,
    }
    assert rule_errors({**fatal, "grade": 5, "worst_grade": 5}, rules.ADVERSE_EVENT_RULES) == {}
    found = rule_errors({**fatal, "grade": 3, "worst_grade": 3}, rules.ADVERSE_EVENT_RULES)
    assert {field: [e.code for e in errors] for field, errors in found.items()} == {
        "grade": ["fatal_not_grade5"]
    }
    with pytest.raises(ValidationError) as refused:
        rules.fatal_is_grade5({"outcome": "fatal", "worst_grade": 4})
    assert refused.value.error_dict["grade"][0].code == "fatal_not_grade5"
    rules.fatal_is_grade5({"outcome": "recovering", "worst_grade": 4})
    # A missing value passes: its own field already carries the error.
    assert rule_errors({"ongoing": False}, [rules.end_after_onset]) == {}
    found = rule_errors(
        {"onset_date": today, "first_dose_date": None, "serious": True},
        rules.ADVERSE_EVENT_RULES,
    )
    assert sorted(found) == ["onset_date", "serious"]


def test_a_follow_up_and_a_report_follow_their_rules_in_form_and_service(coordinator, participant):
    ae = make_ae(participant, coordinator)
    before = participant.first_dose_date - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        ae_follow_up_add(
            follow_up=AeFollowUp(adverse_event=ae, on_date=before, grade=2), actor=coordinator
        )
    assert refused.value.error_dict["on_date"][0].code == "before_onset"
    form = FollowUpForm(
        {"on_date": before.isoformat(), "grade": "2"},
        instance=AeFollowUp(adverse_event=ae),
        adverse_event=ae,
    )
    assert [e.code for e in form.errors.as_data()["on_date"]] == ["before_onset"]
    with pytest.raises(ValidationError) as refused:
        safety_report_add(
            report=SafetyReport(
                adverse_event=ae,
                kind="initial",
                sent_at=timezone.now() + dt.timedelta(hours=1),
                sent_to="sponsor",
            ),
            actor=coordinator,
        )
    assert refused.value.error_dict["sent_at"][0].code == "future"

"""Hostile values posted to the forms: each answers the form again with a message, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from safety.models import AdverseEvent
from tests.factories import make_participant
from tests.safety.test_adverse_events import ae_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=6))


def post_ae(client, participant, **changes):
    data = ae_data(participant)
    data.update(changes)
    return client.post(f"/safety/ae/new/{participant.participant_id}/", data)


@pytest.mark.parametrize("term", ["abc", "1.5", "99999999", "-1", "1e3", "99999999999999999999"])
def test_a_non_integer_or_unknown_ae_term_is_a_message_at_the_field(
    client_for, coordinator, participant, term
):
    response = post_ae(client_for(coordinator), participant, term=term)
    assert response.status_code == 200
    assert response.context["form"].errors["term"]
    assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize("field", ["verbatim_term", "treatment", "other_specify"])
def test_a_nul_byte_in_a_text_field_is_a_message_at_the_field(
    client_for, coordinator, participant, field
):
    response = post_ae(client_for(coordinator), participant, **{field: "cough\x00"})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize("term", ["abc", "1.5", "²", "99999999999999999999"])
def test_the_grade_picker_answers_a_non_integer_term_with_the_default_grades(
    client_for, coordinator, term
):
    response = client_for(coordinator).get("/safety/terms/grades/", {"term": term})
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["%' OR 1=1 --", "x" * 5000])
def test_the_term_search_answers_a_hostile_query(client_for, coordinator, query):
    response = client_for(coordinator).get("/safety/terms/", {"q": query})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/deviations/?participant=MDA5%00",
        "/queries/?participant=MDA5%00",
        "/audit/?participant=MDA5%00",
        "/safety/?participant=MDA5%00",
        "/safety/terms/?q=cough%00",
        "/safety/terms/grades/?term=%00",
    ],
)
def test_a_nul_byte_in_a_list_filter_is_a_bad_request_not_a_500(client_for, monitor, url):
    response = client_for(monitor).get(url)
    assert response.status_code == 400

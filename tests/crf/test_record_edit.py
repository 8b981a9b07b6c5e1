"""Changing a clinical record: reason for change, optimistic locking, retirement, history page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from crf import selectors
from crf.models import RecordStatus
from crf.services import StaleRecordError, record_create, record_retire, record_update
from tests.crftest.models import Observation

pytestmark = pytest.mark.django_db


def edit_url(record) -> str:
    return f"/crftest/observations/{record.pk}/"


def form_data(record, **changes) -> dict:
    data = {
        "measured_on": record.measured_on.isoformat(),
        "value": "" if record.value is None else str(record.value),
        "unit": record.unit,
        "note": record.note,
        "version": str(record.version),
    }
    data.update(changes)
    return data


def test_a_submitted_record_cannot_be_changed_without_a_reason(observation, coordinator):
    observation.note = "new"
    with pytest.raises(ValidationError) as excinfo:
        record_update(record=observation, actor=coordinator, expected_version=1, reason="  ")
    assert "reason_for_change" in excinfo.value.error_dict
    observation.refresh_from_db()
    assert observation.note == "baseline"
    assert observation.version == 1


def test_the_form_shows_the_missing_reason_next_to_the_field_and_keeps_the_input(
    client_for, coordinator, observation
):
    client = client_for(coordinator)
    response = client.post(edit_url(observation), form_data(observation, note="typed by the user"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["reason_for_change"] == ["This field is required."]
    assert "typed by the user" in response.content.decode()
    observation.refresh_from_db()
    assert observation.note == "baseline"


def test_a_draft_can_be_changed_without_a_reason(coordinator):
    draft = record_create(
        record=Observation(measured_on="2026-03-01", note="draft"), actor=coordinator, submit=False
    )
    assert draft.status == RecordStatus.DRAFT
    draft.note = "still a draft"
    record_update(record=draft, actor=coordinator, expected_version=1)
    draft.refresh_from_db()
    assert draft.note == "still a draft"
    assert draft.version == 2


def test_a_change_with_a_reason_is_saved_and_shown_in_the_history(
    client_for, coordinator, observation
):
    client = client_for(coordinator)
    response = client.post(
        edit_url(observation),
        form_data(observation, note="corrected", reason_for_change="typo in the source"),
    )
    assert response.status_code == 302
    observation.refresh_from_db()
    assert (observation.note, observation.version) == ("corrected", 2)

    page = client.get(observation.history_url())
    html = page.content.decode()
    assert page.status_code == 200
    assert "typo in the source" in html
    assert "baseline" in html and "corrected" in html
    assert coordinator.username in html


def test_a_stale_edit_is_refused_with_who_changed_it_and_the_input_kept(
    client_for, coordinator, investigator, observation
):
    # The investigator saves a change while the coordinator still has version 1 open.
    observation.note = "investigator's change"
    record_update(record=observation, actor=investigator, expected_version=1, reason="review")

    client = client_for(coordinator)
    response = client.post(
        edit_url(observation),
        form_data(observation, note="coordinator's input", version="1", reason_for_change="fix"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    errors = response.context["form"].non_field_errors()
    assert any("Dr Chen" in str(error) for error in errors)
    assert "coordinator&#x27;s input" in html or "coordinator's input" in html
    observation.refresh_from_db()
    assert observation.note == "investigator's change"

    # Saving again deliberately replaces the newer version.
    again = client.post(edit_url(observation), response.context["form"].data)
    assert again.status_code == 302
    observation.refresh_from_db()
    assert observation.note == "coordinator's input"


def test_the_service_refuses_a_stale_version(observation, coordinator):
    observation.note = "x"
    with pytest.raises(StaleRecordError) as excinfo:
        record_update(record=observation, actor=coordinator, expected_version=7, reason="r")
    assert excinfo.value.current_version == 1


def test_a_record_is_retired_with_a_reason_and_then_refuses_changes(observation, coordinator):
    with pytest.raises(ValidationError):
        record_retire(record=observation, actor=coordinator, expected_version=1, reason="")
    retired = record_retire(
        record=observation, actor=coordinator, expected_version=1, reason="wrong participant"
    )
    assert retired.is_retired
    assert Observation.objects.filter(pk=observation.pk).exists()
    retired.note = "late change"
    with pytest.raises(ValidationError):
        record_update(
            record=retired, actor=coordinator, expected_version=retired.version, reason="r"
        )
    last = selectors.record_history(observation)[-1]
    assert last.reason == "wrong participant"


def test_the_retire_page_needs_a_reason(client_for, coordinator, observation):
    client = client_for(coordinator)
    url = f"/records/crftest.observation/{observation.pk}/retire/"
    response = client.post(url, {"version": "1", "reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    response = client.post(url, {"version": "1", "reason": "duplicate entry"})
    assert response.status_code == 302
    observation.refresh_from_db()
    assert observation.retired_reason == "duplicate entry"


def test_a_monitor_can_read_the_history_but_not_edit(client_for, monitor, observation):
    client = client_for(monitor)
    assert client.get(observation.history_url()).status_code == 200
    assert client.get(edit_url(observation)).status_code == 403
    assert client.post(f"/records/crftest.observation/{observation.pk}/retire/").status_code == 403


@pytest.mark.parametrize("persona", ["dsmb_member", "admin_user", "outsider"])
def test_roles_without_data_access_cannot_read_the_history(
    request, client_for, observation, persona
):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(observation.history_url()).status_code == 403


def test_the_history_of_an_unknown_model_is_not_found(client_for, coordinator):
    client = client_for(coordinator)
    assert client.get("/records/accounts.user/1/history/").status_code == 404
    assert client.get("/records/nope.nothing/1/history/").status_code == 404


def test_the_history_page_uses_a_fixed_number_of_queries(
    client_for, coordinator, observation, django_assert_max_num_queries
):
    for number in range(2, 12):
        observation.note = f"change {number}"
        observation = record_update(
            record=observation, actor=coordinator, expected_version=number - 1, reason="r"
        )
    client = client_for(coordinator)
    with django_assert_max_num_queries(12):
        assert client.get(observation.history_url()).status_code == 200

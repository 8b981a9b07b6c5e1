"""Free text is capped: the form says so at the field, PostgreSQL refuses what code forgets."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from crf.models import TEXT_MAX_LENGTH, ClinicalRecord
from safety.models import AdverseEvent
from tests.factories import make_ae, make_participant
from tests.safety.test_adverse_events import ae_data

pytestmark = pytest.mark.django_db

TOO_LONG = "x" * (TEXT_MAX_LENGTH + 1)


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=6))


def test_a_megabyte_of_treatment_text_is_refused_at_the_field(client_for, coordinator, participant):
    data = ae_data(participant)
    data["treatment"] = "x" * 1_000_000
    response = client_for(coordinator).post(f"/safety/ae/new/{participant.participant_id}/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["treatment"]
    assert not AdverseEvent.objects.exists()


def test_postgresql_refuses_over_long_text_written_past_the_form(coordinator, participant):
    ae = make_ae(participant, coordinator, term="Cough", grade=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.filter(pk=ae.pk).update(treatment=TOO_LONG)
    ae.treatment = TOO_LONG
    with pytest.raises(ValidationError):
        ae.full_clean()


def test_every_free_text_field_of_a_clinical_record_is_capped():
    uncapped = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if issubclass(model, ClinicalRecord)
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField) and not field.max_length
    ]
    assert uncapped == []

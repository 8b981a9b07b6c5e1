"""The audit trail of a screening names the screening from its first event."""

from __future__ import annotations

import pytest

from enrollment.models import Screening
from tests.factories import screening_form_data

pytestmark = pytest.mark.django_db


def test_the_audit_review_filtered_by_a_new_screening_finds_its_creation(
    client_for, coordinator, monitor
):
    response = client_for(coordinator).post("/screening/new/", screening_form_data())
    assert response.status_code == 302
    screening = Screening.objects.get()
    page = client_for(monitor).get("/audit/", {"participant": screening.screening_number})
    rows = page.context["rows"]
    assert [(row.subject, row.record_id) for row in rows] == [
        (screening.screening_number, str(screening.pk))
    ]
    assert "SCR-new" not in page.content.decode()

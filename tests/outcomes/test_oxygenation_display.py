"""P/F and S/F as a clinician reads them on the visit page and in the casebook."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from crf.services import record_create
from outcomes.models import Oxygenation
from tests.factories import make_participant, make_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=30))


def oxygenation(visit, actor, **fields):
    values = {
        "visit": visit,
        "sampled_at": dt.time(8),
        "o2_device": "mask",
        "fio2": Decimal("0.55"),
        "fio2_source": "set",
        "pao2": 100,
        "spo2": 93,
    }
    values.update(fields)
    return record_create(record=Oxygenation(**values), actor=actor)


def visit_page(client, visit) -> str:
    url = f"/participants/{visit.participant.participant_id}/visits/{visit.pk}/"
    return client.get(url).content.decode()


def test_pf_and_sf_keep_one_decimal(coordinator, participant):
    record = oxygenation(make_visit(participant, coordinator, "baseline"), coordinator)
    assert record.pf_ratio == pytest.approx(181.8)
    assert record.sf_ratio == pytest.approx(169.1)


def test_the_visit_page_shows_pf_and_sf_with_one_decimal(client_for, coordinator, participant):
    visit = make_visit(participant, coordinator, "baseline")
    oxygenation(visit, coordinator)
    html = visit_page(client_for(coordinator), visit)
    assert "181.8 · Berlin: moderate (&gt; 100 to 200)" in html and "169.1" in html
    assert "182<" not in html


def test_a_whole_pf_ratio_still_shows_its_decimal(client_for, coordinator, participant):
    visit = make_visit(participant, coordinator, "baseline")
    oxygenation(visit, coordinator, fio2=Decimal("0.40"), pao2=60, spo2=None)
    assert "150.0" in visit_page(client_for(coordinator), visit)


def test_the_casebook_shows_pf_with_one_decimal(client_for, coordinator, participant):
    oxygenation(make_visit(participant, coordinator, "baseline"), coordinator)
    html = client_for(coordinator).get(participant.get_absolute_url()).content.decode()
    assert "181.8" in html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_spo2_above_97_shows_a_single_percent_sign(client_for, coordinator, participant, language):
    visit = make_visit(participant, coordinator, "baseline")
    oxygenation(visit, coordinator, spo2=99)
    client = client_for(coordinator)
    url = f"/participants/{participant.participant_id}/visits/{visit.pk}/"
    with translation.override("en"):  # the request's language must not leak into later tests
        html = client.get(url, headers={"accept-language": language}).content.decode()
    assert "%%" not in html
    expected = "SpO2 above 97 %" if language == "en" else "SpO2 高于 97%"
    assert expected in html

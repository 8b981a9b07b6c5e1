"""The laboratory panel: one shared CRF form per result, each with its own version."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from pghistory.models import Events

from crf import monitoring, selectors
from crf.services import record_create, record_update
from outcomes.models import LabResult
from tests.factories import make_participant, make_visit

pytestmark = pytest.mark.django_db


class _FormScraper(HTMLParser):
    """What a browser would post back from the page's POST form, as it was rendered."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self.in_form = False
        self.select: str | None = None
        self.select_first: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.in_form = True
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") != "submit":
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value") or "on"
            else:
                self.data[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self.select, self.select_first = name, None
        elif tag == "option" and self.select:
            value = attrs.get("value") or ""
            if self.select_first is None:
                self.select_first = value
                self.data.setdefault(self.select, value)
            if "selected" in attrs:
                self.data[self.select] = value
        elif tag == "textarea" and name:
            self.textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data.lstrip("\n") if not self.data[self.textarea] else data


def form_data(response) -> dict[str, str]:
    scraper = _FormScraper()
    scraper.feed(response.content.decode())
    scraper.data.pop("csrfmiddlewaretoken", None)
    return scraper.data


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate())


@pytest.fixture
def panel(participant, coordinator):
    """A baseline visit with ferritin and CRP already entered (version 1 each)."""
    visit = make_visit(participant, coordinator, "baseline")
    for analyte, value, unit in (("ferritin", "1850", "ng/mL"), ("crp", "3.1", "mg/dL")):
        record_create(
            record=LabResult(
                visit=visit,
                analyte=analyte,
                value=value,
                unit=unit,
                normal_low=0,
                normal_high=150,
                clinically_significant=False,
            ),
            actor=coordinator,
        )
    return visit


def url_of(visit) -> str:
    return f"/participants/{visit.participant.participant_id}/visits/{visit.pk}/labs/"


def versions() -> dict[str, int]:
    return dict(LabResult.objects.values_list("analyte", "version"))


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def no_raw_python(html: str) -> bool:
    return "{'" not in html and "[&#x27;" not in html and "&#x27;:" not in html


def test_posting_the_panel_back_unchanged_saves_nothing_and_says_so(client_for, coordinator, panel):
    client = client_for(coordinator)
    before = Events.objects.count()
    shown = form_data(client.get(url_of(panel)))
    assert (shown["lab_ferritin_value"], shown["lab_crp_low"]) == ("1850", "0")  # not 1850.000
    response = client.post(url_of(panel), shown)
    assert no_raw_python(response.content.decode())
    assert response.status_code == 302 and response["Location"] == panel.get_absolute_url()
    assert texts(response) == ["Nothing changed."]
    assert versions() == {"ferritin": 1, "crp": 1}
    assert Events.objects.count() == before


def test_changing_one_value_saves_only_that_result_and_keeps_the_others_verified(
    client_for, coordinator, monitor, panel
):
    for result in LabResult.objects.all():
        monitoring.record_verify(record=result, actor=monitor)
    client = client_for(coordinator)
    data = form_data(client.get(url_of(panel)))
    data.update(lab_ferritin_value="1900", reason_for_change="transcription error")
    response = client.post(url_of(panel), data)
    assert response.status_code == 302
    assert versions() == {"ferritin": 2, "crp": 1}
    crp = LabResult.objects.get(analyte="crp")
    verification = monitoring.Verification.objects.get(object_id=crp.pk)
    assert monitoring.is_verified(crp, verification)
    ferritin = LabResult.objects.get(analyte="ferritin")
    assert not monitoring.is_verified(
        ferritin, monitoring.Verification.objects.get(object_id=ferritin.pk)
    )
    assert selectors.record_history(ferritin)[-1].reason == "transcription error"


def test_changing_only_the_clinically_significant_flag_needs_a_reason_shown_at_the_field(
    client_for, coordinator, panel
):
    client = client_for(coordinator)
    data = form_data(client.get(url_of(panel)))
    data["lab_crp_cs"] = "true"
    response = client.post(url_of(panel), data)
    html = response.content.decode()
    assert response.status_code == 200 and no_raw_python(html)
    assert response.context["form"].errors["reason_for_change"] == [
        "Give a reason for changing a submitted result."
    ]
    assert 'id="error_1_id_reason_for_change"' in html or "invalid-feedback" in html
    assert form_data(response)["lab_crp_cs"] == "true"  # the input is kept
    assert versions() == {"ferritin": 1, "crp": 1}

    data = form_data(response)
    data["reason_for_change"] = "reviewed by the investigator"
    assert client.post(url_of(panel), data).status_code == 302
    assert LabResult.objects.get(analyte="crp").clinically_significant is True
    assert versions() == {"ferritin": 1, "crp": 2}


def test_a_result_changed_by_someone_else_is_refused_and_nothing_of_the_post_is_saved(
    client_for, coordinator, investigator, panel
):
    client = client_for(coordinator)
    data = form_data(client.get(url_of(panel)))
    ferritin = LabResult.objects.get(analyte="ferritin")
    ferritin.value = "2000"
    record_update(record=ferritin, actor=investigator, expected_version=1, reason="lab report")

    data.update(lab_ferritin_value="1900", lab_crp_value="4.2", reason_for_change="typo")
    response = client.post(url_of(panel), data)
    html = response.content.decode()
    assert response.status_code == 200 and no_raw_python(html)
    assert f"This record was changed by {investigator.printed_name}" in html
    assert "after you opened it" in html
    assert form_data(response)["lab_ferritin_value"] == "1900"  # the input is kept
    assert form_data(response)["lab_crp_value"] == "4.2"
    assert versions() == {"ferritin": 2, "crp": 1}  # all or nothing
    assert float(LabResult.objects.get(analyte="crp").value) == 3.1

    # A deliberate second save replaces the newer version.
    assert client.post(url_of(panel), form_data(response)).status_code == 302
    assert versions() == {"ferritin": 3, "crp": 2}
    assert float(LabResult.objects.get(analyte="ferritin").value) == 1900


def test_a_result_someone_else_changed_is_left_alone_when_the_user_did_not_touch_it(
    client_for, coordinator, investigator, panel
):
    client = client_for(coordinator)
    data = form_data(client.get(url_of(panel)))
    ferritin = LabResult.objects.get(analyte="ferritin")
    ferritin.value = "2000"
    record_update(record=ferritin, actor=investigator, expected_version=1, reason="lab report")

    data.update(lab_crp_value="4.2", reason_for_change="typo")
    assert client.post(url_of(panel), data).status_code == 302
    assert float(LabResult.objects.get(analyte="ferritin").value) == 2000
    assert versions() == {"ferritin": 2, "crp": 2}


def test_clearing_a_value_is_a_change_that_needs_a_reason_and_is_audited(
    client_for, coordinator, panel
):
    client = client_for(coordinator)
    data = form_data(client.get(url_of(panel)))
    data["lab_crp_value"] = ""
    response = client.post(url_of(panel), data)
    assert response.status_code == 200 and no_raw_python(response.content.decode())
    assert response.context["form"].errors["reason_for_change"]
    assert form_data(response)["lab_crp_value"] == ""
    assert float(LabResult.objects.get(analyte="crp").value) == 3.1

    data["reason_for_change"] = "result belonged to another sample"
    assert client.post(url_of(panel), data).status_code == 302
    crp = LabResult.objects.get(analyte="crp")
    assert crp.value is None and crp.version == 2
    last = selectors.record_history(crp)[-1]
    assert last.reason == "result belonged to another sample"
    assert {change.field: (change.old, change.new) for change in last.changes}["value"] == (
        3.1,
        None,
    )
    visit_page = client.get(panel.get_absolute_url()).content.decode()
    assert re.search(r'C-reactive protein</dt>\s*<dd class="col-6">—</dd>', visit_page)


def test_a_changed_result_outside_its_range_is_flagged_at_its_field(client_for, coordinator, panel):
    client = client_for(coordinator)
    data = form_data(client.get(url_of(panel)))
    data.update(lab_ferritin_value="200000", reason_for_change="repeat")
    response = client.post(url_of(panel), data)
    errors = response.context["form"].errors
    assert errors["lab_ferritin_value"][0].startswith("Not possible")
    assert set(errors) == {"lab_ferritin_value"}
    data["lab_ferritin_value"] = "30000"
    response = client.post(url_of(panel), data)
    assert response.context["form"].errors["lab_ferritin_value"][0].startswith("Unusual value")
    assert versions() == {"ferritin": 1, "crp": 1}
    data["confirm_unusual"] = "on"
    assert client.post(url_of(panel), data).status_code == 302
    assert LabResult.objects.get(analyte="ferritin").soft_range_fields == ["value"]
    assert versions() == {"ferritin": 2, "crp": 1}


def test_a_locked_result_hides_save_and_refuses_a_change(
    client_for, coordinator, investigator, panel
):
    monitoring.records_lock(records=[LabResult.objects.get(analyte="crp")], actor=investigator)
    before = versions()
    client = client_for(coordinator)
    response = client.get(url_of(panel))
    html = response.content.decode()
    assert ">Save</button>" not in html and "locked" in html
    data = form_data(response)
    data.update(lab_crp_value="4.2", reason_for_change="typo")
    response = client.post(url_of(panel), data)
    html = response.content.decode()
    assert response.status_code == 200 and no_raw_python(html)
    assert "C-reactive protein is locked" in html
    assert versions() == before


def test_a_first_entry_made_by_someone_else_after_the_page_opened_is_refused(
    client_for, coordinator, investigator, panel
):
    client = client_for(coordinator)
    data = form_data(client.get(url_of(panel)))
    record_create(
        record=LabResult(visit=panel, analyte="ldh", value="300", unit="U/L"), actor=investigator
    )
    data.update(lab_ldh_value="310", lab_crp_value="4.2", reason_for_change="typo")
    response = client.post(url_of(panel), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"This record was changed by {investigator.printed_name}" in html
    assert versions() == {"ferritin": 1, "crp": 1, "ldh": 1}
    assert client.post(url_of(panel), form_data(response)).status_code == 302
    assert float(LabResult.objects.get(analyte="ldh").value) == 310
    assert versions() == {"ferritin": 1, "crp": 2, "ldh": 2}


def test_a_new_test_with_only_its_flag_set_asks_for_the_result(client_for, coordinator, panel):
    client = client_for(coordinator)
    data = form_data(client.get(url_of(panel)))
    data["lab_ldh_cs"] = "true"
    response = client.post(url_of(panel), data)
    assert response.context["form"].errors["lab_ldh_value"] == [
        "Give the result, or leave this test as it was."
    ]
    assert not LabResult.objects.filter(analyte="ldh").exists()


def test_a_locked_visit_offers_no_save_and_refuses_a_first_entry(
    client_for, coordinator, investigator, panel
):
    monitoring.records_lock(records=[panel], actor=investigator)
    client = client_for(coordinator)
    response = client.get(url_of(panel))
    assert ">Save</button>" not in response.content.decode()
    data = form_data(response)
    data["lab_ldh_value"] = "300"
    response = client.post(url_of(panel), data)
    assert "This visit is locked" in response.content.decode()
    assert not LabResult.objects.filter(analyte="ldh").exists()

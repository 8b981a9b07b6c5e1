"""The investigator's journey: the SAE alert in the inbox, the causality assessment, and the
electronic signature of a visit."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from crf.models import Notification, Signature
from outcomes.models import Visit
from safety.models import AdverseEvent, Relatedness
from tests.conftest import PASSWORD, wait_for
from tests.factories import make_ae, make_participant, make_visit


def test_the_investigator_opens_the_sae_alert_assesses_the_event_and_signs_a_visit(
    celery_worker, open_session, shot, coordinator, investigator
):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )
    visit = make_visit(participant, coordinator, "baseline")
    ae = make_ae(
        participant, coordinator, term="Hypoxia", grade=3, serious=True, sae_hospitalisation=True
    )
    alerts = Notification.objects.filter(recipient=investigator, kind="sae")
    assert wait_for(alerts.exists), "the worker sent no SAE alert within 30 s"
    alert = alerts.get()
    assert alert.url == ae.get_absolute_url()
    assert alert.read_at is None

    page = open_session(investigator)
    assert page.get_by_test_id("unread-count").inner_text() == "1"

    # The inbox: the alert, unread, leads to the adverse event.
    page.get_by_test_id("inbox-link").click()
    page.wait_for_url(f"**{reverse('crf:inbox')}")
    inbox = page.get_by_test_id("inbox")
    assert inbox.locator("li").count() == 1
    assert alert.subject in inbox.inner_text()
    shot(page, "investigator-inbox")
    open_url = reverse("crf:inbox_open", args=[alert.pk])
    page.locator(f"form[action='{open_url}'] button[type=submit]").click()
    page.wait_for_url(f"**{ae.get_absolute_url()}")
    alert.refresh_from_db()
    assert alert.read_at is not None
    assert page.get_by_test_id("unread-count").count() == 0
    assessment = page.get_by_test_id("assessment")
    assert investigator.printed_name not in assessment.inner_text()

    # The causality assessment.
    assess_url = reverse("safety:ae_assess", args=[ae.pk])
    page.locator(f"a[href='{assess_url}']").click()
    page.wait_for_url(f"**{assess_url}")
    form = page.locator("form.crf-form")
    form.locator("input[name=rel_study_drug][value=probably]").check()
    form.locator("input[name=rel_background][value=possibly_not]").check()
    form.locator("input[name=expected][value=False]").check()
    form.locator("input[name=ib_version]").fill("3.0")
    form.locator("input[name=grade_confirmed]").check()
    form.locator("button[type=submit]").first.click()
    page.wait_for_url(f"**{ae.get_absolute_url()}")
    shot(page, "investigator-ae-assessed")

    ae = AdverseEvent.objects.get(pk=ae.pk)
    assert (ae.rel_study_drug, ae.rel_background, ae.expected, ae.ib_version) == (
        Relatedness.PROBABLY,
        Relatedness.POSSIBLY_NOT,
        False,
        "3.0",
    )
    assert ae.assessed_by == investigator
    assert ae.assessed_at is not None and ae.version == 2
    assert ae.susar
    shown = page.get_by_test_id("assessment").inner_text()
    assert str(ae.get_rel_study_drug_display()) in shown
    assert str(ae.get_rel_background_display()) in shown
    assert str(ae.get_expected_display()) in shown
    assert investigator.printed_name in shown
    assert timezone.localtime(ae.assessed_at).strftime("%Y-%m-%d %H:%M") in shown

    # The signature of the visit: the session's first, so user ID and password (21 CFR 11.200).
    page.goto(visit.get_absolute_url())
    assert page.get_by_test_id("signature").count() == 0
    sign_url = reverse("crf:sign", args=["outcomes.visit", visit.pk, "visit"])
    page.locator(f"a[href='{sign_url}']").click()
    page.wait_for_url(f"**{sign_url}")
    page.locator("input[name=user_id]").fill(investigator.username)
    password = page.locator("input[name=password]")
    assert password.get_attribute("type") == "password"
    password.fill("not-my-password")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith(sign_url)
    password = page.locator("input[name=password]")
    assert "is-invalid" in (password.get_attribute("class") or "")
    error = page.locator("#div_id_password .invalid-feedback")
    assert error.is_visible() and error.inner_text().strip()
    assert password.input_value() == ""
    assert page.locator("input[name=user_id]").input_value() == investigator.username
    assert not Signature.objects.exists()
    shot(page, "investigator-sign-wrong-password")

    password.fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**{visit.get_absolute_url()}")
    signature = Signature.objects.get()
    assert (signature.object_id, signature.scope, signature.signer) == (
        visit.pk,
        "visit",
        investigator,
    )
    assert signature.content_type.model_class() is Visit
    assert signature.printed_name == investigator.printed_name
    assert signature.meaning == "reviewed_approved"
    shown = page.get_by_test_id("signature").inner_text()
    assert investigator.printed_name in shown
    assert timezone.localtime(signature.signed_at).strftime("%Y-%m-%d %H:%M %z") in shown
    assert str(signature.get_meaning_display()) in shown
    shot(page, "investigator-visit-signed")

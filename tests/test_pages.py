"""Layout, error pages and the language switcher."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_uses_local_assets_only():
    html = Client().get("/accounts/login/").content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "/static/django_htmx/htmx" in html
    for cdn in ("cdn.", "unpkg", "googleapis", "jsdelivr"):
        assert cdn not in html


def test_pages_carry_security_headers():
    response = Client().get("/accounts/login/")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_unknown_page_shows_the_friendly_404(client_for, coordinator):
    response = client_for(coordinator).get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_forbidden_page_shows_the_friendly_403(client_for, dsmb_member, observation):
    response = client_for(dsmb_member).get(observation.history_url())
    assert response.status_code == 403
    assert "You are not allowed to do this" in response.content.decode()


def test_a_server_error_shows_the_friendly_500_with_a_reference(rf):
    from trialportal.errors import server_error

    request = rf.get("/")
    request.request_id = "abc123"
    response = server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "abc123" in html


def test_the_language_switcher_shows_the_portal_in_chinese(client_for, coordinator):
    client = client_for(coordinator)
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert "欢迎" in html
    assert 'lang="zh-hans"' in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Welcome" in client.get("/").content.decode()


def test_the_sign_in_page_can_be_switched_to_chinese_before_signing_in():
    client = Client()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert "登录" in client.get("/accounts/login/").content.decode()


@override_settings(LANGUAGE_CODE="en")
def test_the_browser_language_chooses_chinese(client_for, coordinator):
    client = client_for(coordinator)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "欢迎" in html

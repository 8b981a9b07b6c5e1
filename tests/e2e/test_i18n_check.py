"""The untranslated-text check of the Chinese journeys finds English and only English."""

from __future__ import annotations

import pytest

from tests.e2e.i18n import assert_translated, untranslated

PAGE = """<!DOCTYPE html>
<html lang="zh-hans"><head><title>{title}</title></head>
<body><main>{body}</main></body></html>"""


@pytest.fixture
def show(browser):
    context = browser.new_context()
    page = context.new_page()

    def _show(body: str, title: str = "首页 · trialportal"):
        page.set_content(PAGE.format(body=body, title=title))
        return page

    yield _show
    context.close()


def texts(found: list[str]) -> list[str]:
    return [entry.split("' (", 1)[0].lstrip("'\"") for entry in found]


def test_a_translated_page_passes(show):
    page = show(
        """<h1>MDA5-001 · 第 14 天 <span class="badge">已完成</span></h1>
        <div role="status">已保存。</div>
        <p>SpO2 93 % · FiO2 0.33 · 124 mmHg · 2026-11-24 · HRCT 总分 15</p>
        <form><button lang="en">English</button><button>简体中文</button></form>
        <select name="sex"><option value="">---------</option><option>女</option></select>
        <footer>时间均按 Asia/Shanghai 时区显示。</footer>"""
    )
    assert untranslated(page) == []
    assert_translated(page)


def test_english_messages_and_words_are_found_where_the_user_sees_them(show):
    page = show(
        """<div role="status">Saved.</div>
        <h1>Enrolled as MDA5-001.</h1>
        <p>第 5 天 Partly given</p>
        <p>Stopped halfway because of coughing</p>
        <a href="#" title="Record this day">第 1 天</a>
        <input name="q" placeholder="e.g. fever, headache">
        <select name="unit"><optgroup label="Respiratory disorders"><option>Cough</option>
          </optgroup></select>
        <p hidden>Not shown at all</p>
        <p style="display: none">Hidden by style</p>""",
        title="Dosing today · trialportal",
    )
    found = untranslated(page)
    assert sorted(texts(found)) == sorted(
        [
            "Cough",
            "Dosing today · trialportal",
            "Enrolled as MDA5-001.",
            "Record this day",
            "Respiratory disorders",
            "Saved.",
            "Stopped halfway because of coughing",
            "e.g. fever, headache",
            "第 5 天 Partly given",
        ]
    )
    assert any("'Saved.' (div; an English message of the catalogue)" in f for f in found)
    assert any("Enrolled as MDA5-001." in f and "values filled in" in f for f in found)
    with pytest.raises(AssertionError, match="Record this day"):
        assert_translated(page)


def test_text_english_by_design_is_allowed_when_named(show):
    page = show(
        """<h1>MDA5-001 AE 1: Pneumonitis</h1>
        <label>3 级 Severe symptoms; oxygen indicated</label>
        <span>(Respiratory, thoracic and mediastinal disorders; MedDRA 10035742)</span>"""
    )
    reference = {
        "Pneumonitis",
        "Severe symptoms; oxygen indicated",
        "Respiratory, thoracic and mediastinal disorders",
    }
    assert len(untranslated(page)) == 3
    assert untranslated(page, allowed=reference) == []

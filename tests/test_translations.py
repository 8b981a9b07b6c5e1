"""Every user-facing string is translated into Simplified Chinese; the catalogue is current."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SKIP = {".venv", "var", "tests", "staticfiles", ".git", "node_modules", "docs", ".pytest_cache"}


def translation(entry) -> str:
    """The translation of an entry (the first plural form for a plural entry)."""
    return entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr


def entries(catalogue) -> dict:
    return {(e.msgctxt, e.msgid): translation(e) for e in catalogue if e.msgid and not e.obsolete}


def test_every_entry_has_a_chinese_translation():
    po = polib.pofile(str(PO))
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_placeholders_survive_translation():
    import re

    pattern = re.compile(r"%\([^)]+\)[-+0-9.]*[sdfe]|%[sd]")
    for entry in polib.pofile(str(PO)):
        if entry.msgid:
            assert sorted(pattern.findall(entry.msgid)) == sorted(
                pattern.findall(translation(entry))
            ), entry.msgid


def test_the_compiled_catalogue_matches_the_source():
    assert entries(polib.mofile(str(MO))) == entries(polib.pofile(str(PO)))


def test_the_catalogue_holds_every_string_in_the_code(tmp_path):
    """Extract the strings afresh from a copy of the code and compare with the catalogue."""
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=lambda d, names: [n for n in names if n in SKIP])
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "trialportal.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    fresh = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in fresh if e.msgid and not e.obsolete and not translation(e)]
    assert missing == [], "run `make messages` and translate these"

"""Untranslated text on a page shown in Simplified Chinese.

`untranslated(page)` collects what the user sees (visible text, button labels, placeholders,
option and group labels of visible selects, titles, alternative texts, the document title) and
returns the strings that are still English:

- a string equal to an English message of the catalogue (one whose Chinese differs from it), or
  matching a message with placeholders once its placeholders are filled in;
- a string with an English word of four letters or more, unless the translators keep that word in
  the Chinese of the catalogue (HRCT, CTCAE, ...) or it is in ALLOWED_WORDS (units and
  abbreviations kept in English in Chinese clinical use). A word in Chinese text counts too: it
  shows an English piece pasted into a translated sentence.

Text inside an element marked `lang="en"` (the language switcher's "English") is English on
purpose and skipped. Strings the caller knows to be English by design (reference terminology,
data typed in English) are passed as `allowed`: a whole string in `allowed`, or one made only of
such strings and allowed words, is accepted.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polib

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

# Units and abbreviations kept in English in Chinese clinical use, beyond those the catalogue's
# Chinese already uses.
ALLOWED_WORDS = frozenset({"mmHg", "mmol", "pmol", "copies", "cells", "PaCO", "SUSAR", "MedDRA"})

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
WORD = re.compile(r"[A-Za-z]{4,}")
TIME_ZONE = re.compile(r"\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b")  # an IANA name, e.g. Asia/Shanghai
PLACEHOLDER = re.compile(r"%\([^)]+\)[-+0-9.]*[sdfe]|%[sd]|\{\{[^}]*\}\}")

COLLECT = """
() => {
  const texts = [];
  const add = (text, where) => {
    const value = (text || "").replace(/\\s+/g, " ").trim();
    if (value) texts.push([value, where]);
  };
  const english = (el) => {
    const marked = el.closest("[lang]");
    return marked !== null && marked !== document.documentElement
      && marked.getAttribute("lang").toLowerCase().startsWith("en");
  };
  const shown = (el) => el.checkVisibility({checkVisibilityCSS: true});
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "TEXTAREA", "OPTION", "OPTGROUP"]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || skip.has(el.tagName) || el.closest("select, textarea") || english(el)) continue;
    if (shown(el)) add(node.textContent, el.tagName.toLowerCase());
  }
  for (const select of document.querySelectorAll("select")) {
    if (!shown(select) || english(select)) continue;
    for (const group of select.querySelectorAll("optgroup")) add(group.label, "optgroup");
    for (const option of select.options) add(option.text, "option");
  }
  for (const el of document.body.querySelectorAll("[title], [placeholder], [aria-label], img[alt], input[type=submit][value], input[type=button][value]")) {
    if (english(el)) continue;
    const visible = shown(el) || (el.tagName === "svg" || el.closest("svg")) && shown(el.closest("svg"));
    if (!visible) continue;
    for (const name of ["title", "placeholder", "aria-label", "alt"]) {
      if (el.hasAttribute(name)) add(el.getAttribute(name), "@" + name);
    }
    if (el.tagName === "INPUT" && (el.type === "submit" || el.type === "button")) add(el.value, "@value");
  }
  add(document.title, "title");
  return texts;
}
"""


@cache
def _catalogue() -> tuple[frozenset[str], tuple[re.Pattern, ...], frozenset[str]]:
    """English messages whose Chinese differs: exact ones, and patterns of those with
    placeholders; and the English words the Chinese translations keep."""
    exact, patterns, kept = set(), [], set()
    for entry in polib.pofile(str(PO)):
        if not entry.msgid or entry.obsolete:
            continue
        translated = entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr
        kept.update(WORD.findall(PLACEHOLDER.sub(" ", re.sub(r"<[^>]+>", " ", translated))))
        for msgid in filter(None, (entry.msgid, entry.msgid_plural)):
            if translated.strip() == msgid.strip():
                continue
            text = " ".join(msgid.split())
            if PLACEHOLDER.search(text) is None:
                exact.add(text)
                continue
            literal = PLACEHOLDER.split(text)
            if not any(re.search(r"[A-Za-z]{3,}", part) for part in literal):
                continue
            pattern = ".+?".join(re.escape(part) for part in literal)
            patterns.append(re.compile(pattern))
    return frozenset(exact), tuple(patterns), frozenset(kept)


def _leftover(text: str, allowed: frozenset[str]) -> str:
    """The text without the allowed strings in it (longest first)."""
    for value in sorted((a for a in allowed if a and a in text), key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def english_words(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """English words of 4+ letters in a text, apart from allowed ones."""
    if text in allowed:
        return []
    kept = _catalogue()[2] | ALLOWED_WORDS
    words = WORD.findall(TIME_ZONE.sub(" ", _leftover(text, allowed) if allowed else text))
    return [word for word in words if word not in kept]


def untranslated(page, *, allowed=()) -> list[str]:
    """The English strings the user sees on the page, each with where it was found."""
    allowed = frozenset(" ".join(str(a).split()) for a in allowed)
    exact, patterns, _kept = _catalogue()
    found = []
    for text, where in page.evaluate(COLLECT):
        if text in allowed:
            continue
        if CJK.search(text):
            if words := english_words(text, allowed):
                found.append(
                    f"{text!r} ({where}; English words in Chinese text: {', '.join(words)})"
                )
        elif text in exact:
            found.append(f"{text!r} ({where}; an English message of the catalogue)")
        elif any(p.fullmatch(text) for p in patterns):
            found.append(f"{text!r} ({where}; an English message with its values filled in)")
        elif words := english_words(text, allowed):
            found.append(f"{text!r} ({where}; English words: {', '.join(words)})")
    return sorted(set(found))


def assert_translated(page, *, allowed=()) -> None:
    """Fail listing every English string the page shows to a user of the Chinese interface."""
    found = untranslated(page, allowed=allowed)
    assert not found, f"untranslated on {page.url}:\n" + "\n".join(found)

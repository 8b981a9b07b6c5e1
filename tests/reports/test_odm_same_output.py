"""The ODM export writes the document it wrote from model instances, byte for byte.

The reference is the former implementation (tests/reports/odm_reference.py), run on the varied
trial of conftest.py; only the creation time in the header differs between two runs.
"""

from __future__ import annotations

import re

import pytest

from reports import odm
from tests.reports import odm_reference

pytestmark = pytest.mark.django_db

NOW = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def document(stream) -> str:
    text = "".join(stream)
    head, rest = text[:1000], text[1000:]
    return NOW.sub("(now)", head) + rest


@pytest.mark.parametrize("audit", [False, True])
def test_the_odm_document_is_the_former_one_byte_for_byte(varied_trial, monitor, audit):
    expected = document(odm_reference.odm_stream(audit=audit))
    assert expected.count("<ItemData ") > 1000
    for hostile in ("咳嗽", "&#10;", "she said", "=cmd"):
        assert hostile in expected, hostile  # the roughening reached the document
    assert document(odm.odm_stream(audit=audit)) == expected
    assert document(odm.odm_stream(audit=audit, user=monitor)) == document(
        odm_reference.odm_stream(audit=audit, user=monitor)
    )

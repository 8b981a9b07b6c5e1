"""The fixed cost of a request: the lightest page reads what it needs, once."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

# The DSMB member's home: the session, the user, the user's permissions, the unread notifications
# and the open stopping-rule alerts; nothing per request beyond that.
LIGHTEST_PAGE_QUERIES = 5


def test_the_lightest_page_costs_a_pinned_number_of_queries(client_for, dsmb_member):
    client = client_for(dsmb_member)
    client.get("/")  # the session's first request renews its expiry
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    queries = [q["sql"] for q in captured.captured_queries]
    assert len(queries) <= LIGHTEST_PAGE_QUERIES, "\n".join(queries)
    loaded_user = [sql for sql in queries if 'FROM "accounts_user"' in sql]
    assert len(loaded_user) == 1, loaded_user

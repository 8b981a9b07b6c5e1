"""Every page of the URLconf, as every role, with real objects of the demo trial: none answers 5xx.

The pages come from the URLconf (tests/routes.py) and their parameters from the demo trial
(tests/crawl.py), so a new page is requested here as soon as it is routed; one whose parameters
cannot be filled fails `test_every_route_is_filled_from_the_demo_trial` until it is mapped.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.crawl import (  # noqa: F401  (fixtures)
    ROLE_USERNAMES,
    client_for_role,
    fetch,
    fills,
    media_in_tmp,
    media_root,
    models_without_records,
    requests_of,
    trial,
)
from tests.routes import routes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trial")]

# Pages that may answer 5xx on purpose, each for a reason.
MAY_ANSWER_5XX = {
    # Load balancers read 503 as "a dependency is down" (no worker runs during this test).
    "health": {503},
}
# The portal's own error pages: a 403 or 404 that is not one of them is some other code's page.
ERROR_TEMPLATES = {403: "errors/403.html", 404: "errors/404.html"}


def test_every_route_is_filled_from_the_demo_trial():
    investigator = get_user_model().objects.get(username="investigator")
    unfilled = [f"{r.name or '-'} {r.pattern}" for r in routes() if not fills(r, investigator)]
    assert not unfilled, "routes whose parameters tests/crawl.py cannot fill:\n" + "\n".join(
        unfilled
    )
    empty = models_without_records()
    assert not empty, f"clinical models with no record in the crawled trial: {empty}"


@pytest.mark.parametrize("role", list(ROLE_USERNAMES))
def test_no_page_answers_a_server_error(role):
    client, user = client_for_role(role)
    failures = []
    answers = []
    posted = set()
    for route, url in requests_of(user):
        # An empty POST to each page once (the first set of values): it must be refused or
        # re-rendered, never fail.
        methods = ("get",) if route in posted else ("get", "post")
        posted.add(route)
        for method in methods:
            answer = fetch(client, method, url)
            answers.append(answer)
            if answer.status >= 500 and answer.status not in MAY_ANSWER_5XX.get(route.name, ()):
                failures.append(
                    f"{method.upper()} {url} ({route.name}): {answer.status} {answer.error}"
                )
            expected = ERROR_TEMPLATES.get(answer.status)
            if expected and expected not in answer.templates:
                failures.append(
                    f"{method.upper()} {url} ({route.name}): {answer.status} "
                    f"not the portal's page ({', '.join(answer.templates) or 'no template'})"
                )
    assert len(answers) > 300  # the walk found the pages
    assert not failures, f"as {role}:\n" + "\n".join(failures)

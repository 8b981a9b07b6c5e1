"""Response headers every page of the portal carries."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import BadRequest
from django.utils.cache import add_never_cache_headers, patch_vary_headers


class SecurityHeadersMiddleware:
    """Permissions-Policy on every response, and no caching of anything the portal generates.

    Pages and downloads hold participant data; a shared or back-button cache must not keep them.
    Static files are served before this middleware (whitenoise, or runserver's handler) and keep
    their long cache lifetimes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        add_never_cache_headers(response)
        patch_vary_headers(response, ["Cookie"])
        return response


class NulQueryMiddleware:
    """A NUL character in the query string is a bad request (400), never a 500.

    PostgreSQL refuses NUL in text, so a list filter holding one would fail in the database.
    Posted forms refuse it at the field themselves (Django's ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or "\x00" in value for key, value in _query_pairs(request)):
            raise BadRequest("NUL character in the query string.")
        return self.get_response(request)


def _query_pairs(request):
    for key, values in request.GET.lists():
        for value in values:
            yield key, value

"""Response headers every page of the portal carries."""

from __future__ import annotations

from django.conf import settings
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

"""Every URL pattern of the URLconf, walked recursively through the includes.

The URL tests take their list of pages from here, so a new page is covered without editing them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from django.urls import URLPattern, URLResolver, get_resolver

# A route converter (<int:pk>) or a regex group ((?P<key>[-:\w]+)).
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True, order=True)
class Route:
    pattern: str  # the patterns of the includes and the page, joined
    name: str | None  # namespaced ("crf:history"), None for an unnamed pattern

    @cached_property
    def params(self) -> tuple[str, ...]:
        """The names of the path parameters, in the order they appear."""
        found = [(m.start(), m["name"]) for m in _ROUTE_PARAM.finditer(self.pattern)]
        found += [(m.start(), m["name"]) for m in _REGEX_PARAM.finditer(self.pattern)]
        return tuple(name for _, name in sorted(found))

    def segment_before(self, param: str) -> str:
        """The literal path segment just before a parameter ("visits" for .../visits/<pk>/)."""
        match = re.search(rf"([\w-]+)/(?:<(?:\w+:)?{param}>|\(\?P<{param}>)", self.pattern)
        return match.group(1) if match else ""

    def url(self, values: dict[str, object] | None = None, default: str = "1") -> str:
        """The concrete path with the given parameter values (others take `default`)."""
        values = values or {}

        def value(name: str) -> str:
            return str(values.get(name, default))

        url = _REGEX_PARAM.sub(lambda m: value(m["name"]), self.pattern)
        url = _ROUTE_PARAM.sub(lambda m: value(m["name"]), url)
        url = url.replace("^", "").replace("$", "").replace("\\", "")
        url = re.sub(r"[?*+]", "", url)
        return "/" + url


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = (namespace + entry.name) if entry.name else None
            yield Route(prefix + str(entry.pattern), name)


def routes() -> list[Route]:
    """Every pattern of the active URLconf (the test URLconf adds the test app's pages)."""
    return sorted(set(_walk(get_resolver())))

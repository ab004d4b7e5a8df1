"""``Accept`` negotiation between the two media types GraphQL over HTTP defines.

Clients send a handful of distinct ``Accept`` values, so outcomes are cached
by the raw header: the hot path pays one dict lookup.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["GRAPHQL_RESPONSE_JSON", "JSON", "Negotiated", "negotiate"]

GRAPHQL_RESPONSE_JSON = b"application/graphql-response+json; charset=utf-8"
JSON = b"application/json; charset=utf-8"


class Negotiated(NamedTuple):
    #: the reply's content type (one of the constants above), None when nothing is acceptable
    content_type: bytes | None
    #: whether the client names text/html explicitly (a browser): it may get the IDE
    html: bool


_DEFAULT = Negotiated(JSON, False)
_CACHE_SIZE = 256
_cache: dict[bytes, Negotiated] = {}


def _parse(accept: str) -> list[tuple[str, str, float]]:
    ranges = []
    for part in accept.split(","):
        media_range, _, params = part.partition(";")
        kind, _, subtype = media_range.strip().lower().partition("/")
        if not kind or not subtype:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((kind, subtype, q))
    return ranges


def _quality(ranges: list[tuple[str, str, float]], kind: str, subtype: str, *, wildcards: bool) -> float:
    """The q of the most specific range matching ``kind/subtype`` (RFC 9110 12.5.1)."""
    best_specificity = -1
    quality = 0.0
    for range_kind, range_subtype, q in ranges:
        if range_kind == kind and range_subtype == subtype:
            specificity = 2
        elif not wildcards:
            continue
        elif range_kind == kind and range_subtype == "*":
            specificity = 1
        elif range_kind == "*" and range_subtype == "*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, quality = specificity, q
    return quality


def _negotiate(accept: str) -> Negotiated:
    ranges = _parse(accept)
    if not ranges:
        return _DEFAULT
    # Wildcards mean application/json, which the spec makes the default; the
    # newer graphql-response+json is chosen only when named.
    graphql_response = _quality(ranges, "application", "graphql-response+json", wildcards=False)
    json = _quality(ranges, "application", "json", wildcards=True)
    html = _quality(ranges, "text", "html", wildcards=False) > 0
    if graphql_response > 0 and graphql_response >= json:
        return Negotiated(GRAPHQL_RESPONSE_JSON, html)
    if json > 0:
        return Negotiated(JSON, html)
    return Negotiated(None, html)


def negotiate(accept: bytes | None) -> Negotiated:
    """The reply's media type for an ``Accept`` header value (raw bytes, None if absent)."""
    if not accept:
        return _DEFAULT
    outcome = _cache.get(accept)
    if outcome is None:
        outcome = _negotiate(accept.decode("latin-1"))
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()  # many distinct values: someone is probing; start over
        _cache[accept] = outcome
    return outcome

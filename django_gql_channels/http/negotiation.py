"""``Accept`` negotiation between the two media types GraphQL over HTTP defines; the ``Accept`` parser
the streaming transports read their own media ranges with.

Clients send a handful of distinct ``Accept`` values, so outcomes are cached
by the raw header: the hot path pays one dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeVar

__all__ = ["GRAPHQL_RESPONSE_JSON", "JSON", "MediaRange", "cached_by_value", "Negotiated", "negotiate", "parse_accept",
           "weight"]

GRAPHQL_RESPONSE_JSON = b"application/graphql-response+json; charset=utf-8"
JSON = b"application/json; charset=utf-8"


class Negotiated(NamedTuple):
    #: the reply's content type (one of the constants above), None when nothing is acceptable
    content_type: bytes | None
    #: whether the client names text/html explicitly (a browser): it may get the IDE
    html: bool


_DEFAULT = Negotiated(JSON, False)
_T = TypeVar("_T")


def cached_by_value(compute: Callable[[str], _T], size: int) -> Callable[[bytes], _T]:
    """``compute`` of a raw header value (decoded as latin-1), remembered for the few
    distinct values clients send (at most ``size``): the hot path pays one dict lookup."""
    outcomes: dict[bytes, _T] = {}

    def lookup(value: bytes) -> _T:
        outcome = outcomes.get(value)
        if outcome is None:
            outcome = compute(value.decode("latin-1"))
            if len(outcomes) >= size:
                outcomes.clear()  # many distinct values: someone is probing; start over
            outcomes[value] = outcome
        return outcome

    return lookup


class MediaRange(NamedTuple):
    """One media range of an ``Accept`` value, type and parameter names lowercased."""

    kind: str
    subtype: str
    #: ``(name, value)`` in order, ``q`` too; values as sent (quotes kept: each reader unquotes
    #: the parameters it knows).
    params: tuple[tuple[str, str], ...]
    #: The range's weight (its last ``q``): 1 without one, 0 when not a number.
    q: float


def weight(value: str) -> float:
    """A ``q`` value: clamped to 0..1, 0 when not a number."""
    try:
        return min(max(float(value), 0.0), 1.0)
    except ValueError:
        return 0.0


def parse_accept(accept: str) -> list[MediaRange]:
    """The media ranges of an ``Accept`` value (decoded), those without ``type/subtype`` left out."""
    ranges = []
    for part in accept.split(","):
        media_range, *raw_params = part.split(";")
        kind, _, subtype = media_range.strip().lower().partition("/")
        if not kind or not subtype:
            continue
        params = []
        q = 1.0
        for param in raw_params:
            name, _, value = param.partition("=")
            name, value = name.strip().lower(), value.strip()
            if name == "q":
                q = weight(value)
            params.append((name, value))
        ranges.append(MediaRange(kind, subtype, tuple(params), q))
    return ranges


def _quality(ranges: list[MediaRange], kind: str, subtype: str, *, wildcards: bool) -> float:
    """The q of the most specific range matching ``kind/subtype`` (RFC 9110 12.5.1)."""
    best_specificity = -1
    quality = 0.0
    for range_kind, range_subtype, _, q in ranges:
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
    ranges = parse_accept(accept)
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


_negotiated = cached_by_value(_negotiate, 256)


def negotiate(accept: bytes | None) -> Negotiated:
    """The reply's media type for an ``Accept`` header value (raw bytes, None if absent)."""
    if not accept:
        return _DEFAULT
    return _negotiated(accept)

"""Who holds a single-connection-mode reservation: the token is bound to the client that reserved it.

A token alone is a bearer secret; bound to its owner, a token that leaks
(logs, a shared proxy) is useless to anyone else, and counting reservations
per owner caps what one client can hold (anonymous floods of ``PUT``).

The owner is the most specific identity the request carries: its
authenticated user, else its session, else its client address (behind a
proxy that address is the proxy's unless the server is told the real one,
e.g. uvicorn ``--forwarded-allow-ips``).

The cap counts per :func:`quota_owner` instead: the user, else the client
address. A session key is whatever cookie the client sends (Channels does
not look it up before a view reads the session), so counting per session
would let one client mint owners at will; binding to it is safe, since only
the holder of a session knows its key.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Owner", "quota_owner", "reservation_owner"]

Owner = tuple[str, Any]


def reservation_owner(scope: dict[str, Any]) -> Owner:
    """The identity a reservation made (or used) by the request of ``scope`` belongs to."""
    user = scope.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        return ("user", user.pk)
    session = scope.get("session")
    key = getattr(session, "session_key", None) if session is not None else None
    if key:
        return ("session", key)
    client = scope.get("client")
    return ("client", client[0] if client else None)


def quota_owner(scope: dict[str, Any]) -> Owner:
    """Whose ``SSE_MAX_RESERVATIONS_PER_CLIENT`` a reservation counts against: the user, else the address."""
    user = scope.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        return ("user", user.pk)
    client = scope.get("client")
    return ("client", client[0] if client else None)

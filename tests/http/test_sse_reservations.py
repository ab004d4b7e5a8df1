"""Single-connection-mode tokens are bound to the client that reserved them, and capped per client."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.test import override_settings

from django_gql_channels.http import sse
from django_gql_channels.http.sse_owners import quota_owner, reservation_owner
from tests.http.test_http import consumer
from tests.sse_support import StreamingRequest

TOKEN = "X-GraphQL-Event-Stream-Token"
QUERY = {"query": "{ hello }", "extensions": {"operationId": "q"}}


@pytest.fixture
def app():
    return consumer(sse_enabled=True)


def user(pk: int) -> Any:
    return SimpleNamespace(is_authenticated=True, pk=pk)


ANONYMOUS = SimpleNamespace(is_authenticated=False, pk=None)


async def call(app, method: str = "PUT", *, identity: dict[str, Any] | None = None, **kwargs: Any) -> StreamingRequest:
    kwargs.setdefault("accept", None)
    streaming = StreamingRequest(app, method, **kwargs)
    streaming.scope.update(identity or {})
    await streaming.start()
    await streaming.rest()
    return streaming


async def reserve(app, identity: dict[str, Any] | None = None) -> str:
    reply = await call(app, identity=identity)
    assert reply.status == 201
    return reply.body.decode()


async def cleanup() -> None:
    for reservation in list(sse.reservations().values()):
        await reservation.close()


@pytest.mark.parametrize(("owner", "intruder"), [
    pytest.param({"client": ("10.0.0.1", 1)}, {"client": ("10.0.0.2", 1)}, id="ip"),
    pytest.param({"session": SimpleNamespace(session_key="a")}, {"session": SimpleNamespace(session_key="b")},
                 id="session"),
    pytest.param({"user": user(1)}, {"user": user(2)}, id="user"),
    pytest.param({"user": user(1)}, {"user": ANONYMOUS}, id="anonymous-same-ip"),
])
async def test_another_client_holding_the_token_is_refused(app, owner, intruder):
    token = await reserve(app, owner)
    try:
        for method, kwargs in [("POST", {"payload": QUERY}), ("DELETE", {"query_string": "operationId=q"}),
                               ("GET", {"accept": "text/event-stream"})]:
            reply = await call(app, method, identity=intruder, headers=[(TOKEN, token)], **kwargs)
            assert reply.status == 404, (method, reply.body)
            assert token.encode() not in reply.body
        # the owner still can
        reply = await call(app, "POST", identity=owner, headers=[(TOKEN, token)], payload=QUERY)
        assert reply.status == 202
    finally:
        await cleanup()


async def test_the_same_user_from_another_address_keeps_the_token(app):
    token = await reserve(app, {"user": user(7), "client": ("10.0.0.1", 1)})
    try:
        reply = await call(app, "POST", identity={"user": user(7), "client": ("10.9.9.9", 2)},
                           headers=[(TOKEN, token)], payload=QUERY)
        assert reply.status == 202
    finally:
        await cleanup()


async def test_the_token_query_parameter_is_not_read(app):
    token = await reserve(app)
    try:
        reply = await call(app, "POST", query_string=f"token={token}", payload=QUERY)
        # without the header, the request is an ordinary one: operationId means nothing, it runs
        assert reply.status == 200
        assert "q" not in sse.Reservation.find(token).operations
    finally:
        await cleanup()


@override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "SSE_MAX_RESERVATIONS_PER_CLIENT": 3})
async def test_reservations_per_client_are_capped(app):
    try:
        anonymous = {"client": ("10.0.0.1", 1)}
        tokens = [await reserve(app, anonymous) for _ in range(3)]
        refused = await call(app, identity=anonymous)
        assert refused.status == 429 and b"SSE_MAX_RESERVATIONS_PER_CLIENT" in refused.body
        # another client is not affected
        other = await reserve(app, {"client": ("10.0.0.2", 1)})
        # closing one frees a slot
        await sse.Reservation.find(tokens[0]).close()
        await reserve(app, anonymous)
        assert len(sse.reservations()) == 4 and other in sse.reservations()
    finally:
        await cleanup()
    assert sse.Reservation.held_by(("client", "10.0.0.1")) == 0


async def test_fake_session_cookies_do_not_buy_more_reservations(app):
    try:
        for i in range(20):
            await call(app, identity={"client": ("10.0.0.4", 1), "session": SimpleNamespace(session_key=f"k{i}")})
        assert len(sse.reservations()) == 16
    finally:
        await cleanup()


async def test_5000_anonymous_puts_hold_at_most_the_cap(app):
    try:
        statuses: dict[int, int] = {}
        for _ in range(5000):
            reply = await call(app, identity={"client": ("10.0.0.3", 1)})
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
        assert statuses == {201: 16, 429: 5000 - 16}
        assert len(sse.reservations()) == 16
    finally:
        await cleanup()


def test_owner_prefers_user_then_session_then_address():
    session = SimpleNamespace(session_key="s1")
    assert reservation_owner({"user": user(3), "session": session, "client": ("1.2.3.4", 5)}) == ("user", 3)
    assert reservation_owner({"user": ANONYMOUS, "session": session, "client": ("1.2.3.4", 5)}) == ("session", "s1")
    assert reservation_owner({"session": SimpleNamespace(session_key=None), "client": ("1.2.3.4", 5)}) == (
        "client", "1.2.3.4")
    assert reservation_owner({}) == ("client", None)
    assert quota_owner({"user": ANONYMOUS, "session": session, "client": ("1.2.3.4", 5)}) == ("client", "1.2.3.4")
    assert quota_owner({"user": user(3), "client": ("1.2.3.4", 5)}) == ("user", 3)

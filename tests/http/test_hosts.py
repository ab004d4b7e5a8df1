"""The HTTP and SSE endpoints check ``Host`` against ALLOWED_HOSTS as Django's get_host() does."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_gql_channels.http.hosts import INVALID_HOST_MESSAGE
from tests.http.test_http import call, consumer

pytestmark = pytest.mark.django_db(transaction=False)

EVIL = "evil.example"
QUERY = {"query": "{ hello }"}


@pytest.fixture
def app():
    return consumer(sse_enabled=True)


def refused(reply) -> bool:
    assert reply is not None
    if reply.status != 400:
        return False
    assert reply.json == {"errors": [{"message": INVALID_HOST_MESSAGE}]}
    assert EVIL.encode() not in reply.body and b"evil" not in reply.body
    assert not any("evil" in value for _, value in reply.headers)
    return True


@override_settings(ALLOWED_HOSTS=["api.example.com", ".example.org"])
@pytest.mark.parametrize(("host", "ok"), [
    ("api.example.com", True), ("api.example.com:8443", True), ("a.b.example.org", True),
    (EVIL, False), (f"{EVIL}:80", False), ("api.example.com.evil.example", False),
    ("evil@api.example.com", False), ("", False),
])
async def test_host_header_is_checked_on_post(app, host, ok):
    reply = await call(app, payload=QUERY, headers=[("host", host)])
    assert refused(reply) is not ok
    if ok:
        assert reply.status == 200 and "data" in reply.json


@override_settings(ALLOWED_HOSTS=["api.example.com"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS"])
async def test_every_method_and_the_sse_endpoint_is_checked(app, method):
    reply = await call(app, method, headers=[("host", EVIL)], query_string="query={hello}",
                       accept="text/event-stream")
    assert refused(reply)


@override_settings(ALLOWED_HOSTS=["api.example.com"])
async def test_sse_stream_with_a_foreign_host_is_refused(app):
    reply = await call(app, payload=QUERY, accept="text/event-stream", headers=[("host", EVIL)])
    assert refused(reply)


@override_settings(ALLOWED_HOSTS=["api.example.com"], USE_X_FORWARDED_HOST=True)
async def test_x_forwarded_host_is_checked_when_django_trusts_it(app):
    assert refused(await call(app, payload=QUERY, headers=[("host", "api.example.com"), ("x-forwarded-host", EVIL)]))
    reply = await call(app, payload=QUERY, headers=[("host", EVIL), ("x-forwarded-host", "api.example.com")])
    assert reply.status == 200


@override_settings(ALLOWED_HOSTS=["api.example.com"], USE_X_FORWARDED_HOST=False)
async def test_x_forwarded_host_is_ignored_when_django_does_not_trust_it(app):
    reply = await call(app, payload=QUERY, headers=[("host", "api.example.com"), ("x-forwarded-host", EVIL)])
    assert reply.status == 200


@pytest.mark.parametrize(("debug", "host", "ok"), [
    (True, "localhost:8000", True), (True, "app.localhost", True), (True, "127.0.0.1", True),
    (True, "[::1]:8000", True), (True, EVIL, False), (False, "localhost", False),
])
async def test_debug_allows_localhost_variants_when_allowed_hosts_is_empty(app, debug, host, ok):
    with override_settings(ALLOWED_HOSTS=[], DEBUG=debug):
        reply = await call(app, payload=QUERY, headers=[("host", host)])
    assert refused(reply) is not ok


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_without_a_host_header_the_server_name_is_checked(app):
    scope = {"headers": [(b"content-type", b"application/json")]}
    assert (await call(app, payload=QUERY, headers=[], scope=scope)).status == 200
    assert refused(await call(app, payload=QUERY, scope={**scope, "server": (EVIL, 80)}))


@override_settings(ALLOWED_HOSTS=["api.example.com"])
async def test_the_refusal_is_logged_to_djangos_security_logger(app, caplog):
    with caplog.at_level("WARNING", logger="django.security.DisallowedHost"):
        await call(app, payload=QUERY, headers=[("host", EVIL)])
    assert any(EVIL in record.getMessage() for record in caplog.records)


async def test_an_accepted_host_is_remembered_only_as_long_as_the_settings_hold(app):
    # The check remembers values Django accepted: a settings change must forget them.
    with override_settings(ALLOWED_HOSTS=["api.example.com"]):
        assert not refused(await call(app, payload=QUERY, headers=[("host", "api.example.com")]))
        assert not refused(await call(app, payload=QUERY, headers=[("host", "api.example.com")]))
    with override_settings(ALLOWED_HOSTS=["other.example.com"]):
        reply = await call(app, payload=QUERY, headers=[("host", "api.example.com")])
        assert reply.status == 400 and reply.json == {"errors": [{"message": INVALID_HOST_MESSAGE}]}


@override_settings(ALLOWED_HOSTS=["api.example.com"], USE_X_FORWARDED_HOST=True)
async def test_a_remembered_host_does_not_hide_other_host_sources(app):
    assert not refused(await call(app, payload=QUERY, headers=[("host", "api.example.com")]))
    # Django joins repeated Host headers, and reads X-Forwarded-Host first (any spelling).
    assert refused(await call(app, payload=QUERY, headers=[("host", "api.example.com"), ("Host", EVIL)]))
    assert refused(await call(app, payload=QUERY, headers=[("host", "api.example.com"),
                                                           ("x-forwarded-host", EVIL)]))
    assert refused(await call(app, payload=QUERY, headers=[("host", "api.example.com"),
                                                           ("X_Forwarded_Host", EVIL)]))

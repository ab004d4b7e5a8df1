"""CORS on the GraphQL endpoint from django-cors-headers' settings (in process; live preflights in e2e)."""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.http.cors import DEFAULT_ALLOW_HEADERS, DEFAULT_ALLOW_METHODS
from tests.http.test_http import call

APP_ORIGIN = "https://app.example"
ALLOWED = {"CORS_ALLOWED_ORIGINS": [APP_ORIGIN]}


def cors_headers(reply) -> dict[str, str]:
    return {k: v for k, v in reply.headers if k.startswith("access-control-") or k == "vary"}


async def preflight(origin: str = APP_ORIGIN, **kwargs):
    return await call(GraphQLHTTPConsumer.as_asgi(), "OPTIONS", content_type=None, headers=[
        ("Origin", origin), ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type")], **kwargs)


async def post(origin: str | None = APP_ORIGIN):
    headers = [("Origin", origin)] if origin else []
    return await call(GraphQLHTTPConsumer.as_asgi(), payload={"query": "{ hello }"}, headers=headers)


async def test_nothing_configured_sends_nothing_and_options_stays_405():
    reply = await preflight()
    assert reply.status == 405 and cors_headers(reply) == {}
    reply = await post()
    assert reply.status == 200 and cors_headers(reply) == {}


@override_settings(**ALLOWED)
async def test_preflight_from_an_allowed_origin_gets_django_cors_headers_defaults():
    reply = await preflight()
    assert reply.status == 200 and reply.body == b""
    assert cors_headers(reply) == {
        "vary": "Origin",
        "access-control-allow-origin": APP_ORIGIN,
        "access-control-allow-headers": ", ".join(DEFAULT_ALLOW_HEADERS),
        "access-control-allow-methods": ", ".join(DEFAULT_ALLOW_METHODS),
        "access-control-max-age": "86400",
    }
    assert DEFAULT_ALLOW_HEADERS == ("accept", "authorization", "content-type", "user-agent", "x-csrftoken",
                                     "x-requested-with")


@override_settings(**ALLOWED)
async def test_actual_responses_and_errors_carry_the_origin_and_vary():
    reply = await post()
    assert reply.json == {"data": {"hello": "Hello, world!"}}
    assert cors_headers(reply) == {"vary": "Origin", "access-control-allow-origin": APP_ORIGIN}
    refused = await call(GraphQLHTTPConsumer.as_asgi(), body=b"{", headers=[("Origin", APP_ORIGIN)])
    assert refused.status == 400 and refused.header("access-control-allow-origin") == APP_ORIGIN


@override_settings(**ALLOWED)
@pytest.mark.parametrize("origin", ["https://evil.example", "http://app.example", "https://app.example:8443",
                                    "null", "not a url"])
async def test_other_origins_get_no_access_control_headers(origin):
    for reply in (await preflight(origin), await post(origin)):
        assert reply.status == 200
        assert cors_headers(reply) == {"vary": "Origin"}


@override_settings(CORS_ALLOWED_ORIGIN_REGEXES=[r"^https://\w+\.preview\.example$"], CORS_ALLOW_CREDENTIALS=True,
                   CORS_EXPOSE_HEADERS=["x-request-id"], CORS_ALLOW_HEADERS=["content-type", "x-token"],
                   CORS_ALLOW_METHODS=["POST"], CORS_PREFLIGHT_MAX_AGE=0)
async def test_regexes_credentials_exposed_headers_and_custom_lists():
    origin = "https://pr42.preview.example"
    assert cors_headers(await preflight(origin)) == {
        "vary": "Origin",
        "access-control-allow-origin": origin,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "x-request-id",
        "access-control-allow-headers": "content-type, x-token",
        "access-control-allow-methods": "POST",  # max age 0: no header
    }
    assert cors_headers(await post(origin))["access-control-expose-headers"] == "x-request-id"
    assert cors_headers(await post("https://preview.example")) == {"vary": "Origin"}


@override_settings(CORS_ALLOW_ALL_ORIGINS=True)
async def test_allow_all_without_credentials_is_a_star():
    assert (await post("https://anywhere.example")).header("access-control-allow-origin") == "*"


@override_settings(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True)
async def test_allow_all_with_credentials_echoes_the_origin_as_django_cors_headers_does():
    reply = await post("https://anywhere.example")
    assert reply.header("access-control-allow-origin") == "https://anywhere.example"
    assert reply.header("access-control-allow-credentials") == "true"


@override_settings(CORS_ORIGIN_WHITELIST=[APP_ORIGIN])
async def test_the_older_setting_names_still_count():
    assert (await post()).header("access-control-allow-origin") == APP_ORIGIN


@override_settings(CORS_ALLOWED_ORIGINS=[APP_ORIGIN], CORS_URLS_REGEX=r"^/api/")
async def test_cors_urls_regex_limits_the_paths():
    assert cors_headers(await post()) == {}
    assert (await preflight()).status == 405


# -- checks ---------------------------------------------------------------------------


def cors_messages():
    return [(m.id, m.msg) for m in checks.run_checks() if m.id and "30" in m.id]


@pytest.mark.parametrize("overrides", [
    {"CORS_ALLOWED_ORIGINS": "https://app.example"},
    {"CORS_ALLOWED_ORIGINS": ["app.example"]},
    {"CORS_ALLOWED_ORIGINS": ["https://app.example/"]},
    {"CORS_ALLOW_CREDENTIALS": "yes"},
    {"CORS_ALLOW_ALL_ORIGINS": 1},
    {"CORS_ALLOW_HEADERS": "content-type"},
    {"CORS_ALLOW_METHODS": [b"POST"]},
    {"CORS_EXPOSE_HEADERS": None},
    {"CORS_PREFLIGHT_MAX_AGE": "86400"},
    {"CORS_ALLOWED_ORIGIN_REGEXES": ["(unclosed"]},
    {"CORS_URLS_REGEX": 5},
])
def test_wrong_types_and_values_are_e030_naming_the_setting(overrides):
    with override_settings(**overrides):
        messages = cors_messages()
    (name,) = overrides
    assert [id_ for id_, _ in messages] == ["gql_channels.E030"]
    assert name in messages[0][1]


def test_allow_all_with_credentials_is_w030():
    with override_settings(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True):
        assert [id_ for id_, _ in cors_messages()] == ["gql_channels.W030"]
    with override_settings(CORS_ALLOW_ALL_ORIGINS=True):
        assert cors_messages() == []


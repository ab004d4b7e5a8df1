"""The IDE pages: served to browsers on GET without a query; None turns them off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.http.ide import IDE_TEMPLATES, render_ide_page
from example_project.schema import schema as example_schema
from tests.http.test_http import BROWSER_ACCEPT, assert_json_error, call

EXPECTED = {
    "graphiql": ("<title>GraphiQL</title>", [
        '<script src="?ide-asset=graphiql-4.1.2/graphiql.min.js&amp;v=',
        '<script src="?ide-asset=react-18.3.1/react.production.min.js&amp;v=',
        '<script src="?ide-asset=react-dom-18.3.1/react-dom.production.min.js&amp;v=',
        '<link rel="stylesheet" href="?ide-asset=graphiql-4.1.2/graphiql.min.css&amp;v=',
        '<script src="?ide-asset=page/graphiql.js&amp;v=',
    ]),
    "apollo-sandbox": ("<title>Apollo Sandbox</title>", [
        '<script src="https://embeddable-sandbox.cdn.apollographql.com/v2/embeddable-sandbox.umd.production.min.js"',
        '<script src="?ide-asset=page/apollo-sandbox.js&amp;v=', "needs internet access",
    ]),
    "pathfinder": ("<title>Pathfinder</title>", [
        'data-pathfinder="https://esm.sh/@pathfinder-ide/react@0.2.6?', "needs internet access",
        'href="https://unpkg.com/@pathfinder-ide/react@0.2.6/dist/style.css" integrity="sha384-',
    ]),
}


def ide_app(ide: str | None, **kwargs):
    return GraphQLHTTPConsumer.as_asgi(schema=example_schema, graphql_ide=ide, **kwargs)


@pytest.mark.parametrize("ide", list(EXPECTED))
@pytest.mark.parametrize("accept", ["text/html", BROWSER_ACCEPT])
async def test_each_ide_is_served_to_browsers(ide, accept):
    reply = await call(ide_app(ide), "GET", content_type=None, accept=accept)
    assert reply.status == 200
    assert reply.header("content-type") == "text/html; charset=utf-8"
    html = reply.body.decode()
    title, snippets = EXPECTED[ide]
    assert html.startswith("<!DOCTYPE html>")
    assert f'data-graphql-ide="{ide}"' in html
    assert title in html
    for snippet in snippets:
        assert snippet in html, snippet
    # Endpoints come from the page's location (ws:// or wss:// at the same URL), in a served file.
    assert '<script src="?ide-asset=page/endpoints.js&amp;v=' in html
    assert "_latest" not in html
    assert "{%" not in html and "{{" not in html
    # No inline script: every <script> names a file, and every local file carries its integrity.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    for tag in re.findall(r"<(?:script|link)[^>]*\?ide-asset=[^>]*>", html):
        assert 'integrity="sha384-' in tag, tag


async def test_the_ide_works_with_get_queries_turned_off():
    reply = await call(ide_app("graphiql", allow_queries_via_get=False), "GET", content_type=None,
                       accept="text/html")
    assert reply.status == 200


async def test_ide_none_gives_browsers_a_404():
    reply = await call(ide_app(None), "GET", content_type=None, accept=BROWSER_ACCEPT)
    assert_json_error(reply, 404, "GRAPHQL_IDE is None")


@override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "GRAPHQL_IDE": None})
async def test_ide_none_from_settings():
    reply = await call(GraphQLHTTPConsumer.as_asgi(), "GET", content_type=None, accept="text/html")
    assert reply.status == 404


@pytest.mark.parametrize("ide", list(EXPECTED))
async def test_ide_from_settings(ide):
    with override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "GRAPHQL_IDE": ide}):
        reply = await call(GraphQLHTTPConsumer.as_asgi(), "GET", content_type=None, accept="text/html")
    assert f'data-graphql-ide="{ide}"' in reply.body.decode()


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/graphql-response+json"])
async def test_non_browsers_without_a_query_get_400(accept):
    reply = await call(ide_app("graphiql"), "GET", content_type=None, accept=accept)
    assert_json_error(reply, 400, "The request has no 'query'")


async def test_post_never_gets_the_ide():
    reply = await call(ide_app("graphiql"), accept=BROWSER_ACCEPT, payload={"query": "{ hello }"})
    assert reply.json == {"data": {"hello": "Hello, world!"}}


def test_pages_render_without_any_template_engine():
    with override_settings(TEMPLATES=[]):
        for ide in IDE_TEMPLATES:
            assert f'data-graphql-ide="{ide}"' in render_ide_page(ide)


def test_a_project_template_overrides_the_page(tmp_path: Path):
    (tmp_path / "django_gql_channels").mkdir()
    (tmp_path / "django_gql_channels" / "graphiql.html").write_text("<p>my {{ title }}</p>")
    templates = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [str(tmp_path)],
                  "APP_DIRS": True}]
    with override_settings(TEMPLATES=templates):
        assert render_ide_page("graphiql") == "<p>my GraphiQL</p>"
        assert 'data-graphql-ide="pathfinder"' in render_ide_page("pathfinder")


def test_unknown_ide_is_an_error():
    with pytest.raises(ValueError, match="Unknown GraphQL IDE 'playground'"):
        render_ide_page("playground")

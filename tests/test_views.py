"""django_gql_channels.views.GraphQLView through Django's own handler (test Client: WSGI; AsyncClient: ASGI).

Where a behaviour is graphene-django's, the graphene_env tests ask its own
view the same thing (tests/view_urls.py mounts both on one Graphene schema).
"""

import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client, override_settings

from django_gql_channels.views import GraphQLView
from tests.library.models import Author, Book
from tests.view_urls import view_schema

pytestmark = pytest.mark.urls("tests.view_urls")


def gql_settings(**changes):
    return override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, **changes})


def post(client, url, query, variables=None, **extra):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


# -- queries and mutations ---------------------------------------------------------


def test_query_over_post_json_and_get():
    client = Client()
    response = post(client, "/plain/", "query ($n: String) { hello(name: $n) }", {"n": "you"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"data": {"hello": "Hello you!"}}
    response = client.get("/plain/", {"query": "{ hello }"})
    assert (response.status_code, response.json()) == (200, {"data": {"hello": "Hello world!"}})
    response = client.get("/plain/", {"query": "query ($n: String) { hello(name: $n) }",
                                      "variables": json.dumps({"n": "GET"})})
    assert response.json() == {"data": {"hello": "Hello GET!"}}


def test_the_settings_schema_by_default():
    response = post(Client(), "/settings-schema/", "{ hello }")
    assert response.status_code == 200
    assert response.json()["data"]["hello"]


@pytest.mark.django_db
def test_mutation_over_post_and_refused_over_get():
    client = Client()
    response = post(client, "/plain/", 'mutation { setColor(color: "red") }')
    assert response.json() == {"data": {"setColor": "red"}}
    response = client.get("/plain/", {"query": 'mutation { setColor(color: "blue") }'})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "POST" in response.json()["errors"][0]["message"]


def test_other_content_types_as_graphene_django_reads_them():
    client = Client()
    response = client.post("/plain/", "{ hello }", content_type="application/graphql")
    assert response.json() == {"data": {"hello": "Hello world!"}}
    response = client.post("/plain/", {"query": "{ hello }"})  # multipart/form-data
    assert response.json() == {"data": {"hello": "Hello world!"}}
    response = client.post("/plain/", "query=%7B+hello+%7D", content_type="application/x-www-form-urlencoded")
    assert response.json() == {"data": {"hello": "Hello world!"}}
    # the URL's query wins, whatever the body
    response = client.post("/plain/?query=%7B+contextType+%7D", "{}", content_type="application/json")
    assert response.json() == {"data": {"contextType": "WSGIRequest"}}


@pytest.mark.parametrize(("body", "content_type", "words"), [
    ("{not json", "application/json", "not valid JSON"),
    ('[{"query": "{ hello }"}]', "application/json", "Batched"),
    ('"{ hello }"', "application/json", "JSON object"),
    ("{ hello }", "text/plain", "Must provide query string"),
    ("{}", "application/json", "Must provide query string"),
])
def test_bad_bodies_are_400_with_a_message(body, content_type, words):
    response = Client().post("/plain/", body, content_type=content_type)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    (error,) = response.json()["errors"]
    assert words in error["message"]


def test_request_errors_are_400_without_data_and_field_errors_200():
    client = Client()
    for query in ("{ hello", "{ nope }", "query A { hello } query B { hello }"):
        response = post(client, "/plain/", query)
        assert response.status_code == 400, query
        assert "data" not in response.json() and response.json()["errors"]
    response = post(client, "/plain/", "query ($n: String!) { hello(name: $n) }")  # variable missing
    assert response.status_code == 400 and "data" not in response.json()
    response = post(client, "/plain/", "{ hello fail }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"hello": "Hello world!", "fail": None}
    assert body["errors"][0]["path"] == ["fail"]


def test_subscriptions_are_refused_with_where_to_go():
    response = post(Client(), "/plain/", "subscription { tick }")
    assert response.status_code == 400
    assert "WebSockets" in response.json()["errors"][0]["message"]


def test_other_methods_are_405():
    response = Client().put("/plain/", "{}", content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response.json()["errors"][0]["message"]


def test_pretty_and_root_value():
    client = Client()
    response = post(client, "/pretty/", "{ rootValue }")
    assert response.content.decode() == json.dumps({"data": {"rootValue": "'the root'"}}, indent=2,
                                                   sort_keys=True, separators=(",", ": "))
    response = client.get("/plain/", {"query": "{ hello }", "pretty": "1"})
    assert b"\n" in response.content


async def test_async_client_runs_the_view_under_asgi():
    response = await AsyncClient().post("/plain/", {"query": "{ hello contextType }"},
                                        content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello world!", "contextType": "ASGIRequest"}}


# -- Django's middleware: CSRF, sessions, auth ---------------------------------------------


def test_csrf_is_enforced_as_graphene_django_does():
    client = Client(enforce_csrf_checks=True)
    assert post(client, "/plain/", "{ hello }").status_code == 403
    # GET sets the cookie (ensure_csrf_cookie) and is not checked
    response = client.get("/plain/", {"query": "{ hello }"})
    assert response.status_code == 200
    token = response.cookies[settings.CSRF_COOKIE_NAME].value
    response = post(client, "/plain/", "{ hello }", headers={"X-CSRFToken": token})
    assert response.json() == {"data": {"hello": "Hello world!"}}


@pytest.mark.django_db
def test_info_context_is_the_request_with_user_and_session():
    client = Client()
    assert post(client, "/plain/", "{ contextType me }").json() == {"data": {"contextType": "WSGIRequest",
                                                                           "me": None}}
    user = get_user_model().objects.create_user("ada", password="pw")
    client.force_login(user)
    assert post(client, "/plain/", "{ me }").json() == {"data": {"me": "ada"}}
    assert post(client, "/plain/", 'mutation { setColor(color: "teal") }').status_code == 200
    assert post(client, "/plain/", "{ color }").json() == {"data": {"color": "teal"}}


@pytest.mark.django_db(transaction=True)
async def test_user_and_session_under_asgi():
    user = await get_user_model().objects.acreate_user("grace", password="pw")
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.post("/plain/", {"query": "{ me }"}, content_type="application/json")
    assert response.json() == {"data": {"me": "grace"}}


# -- the engine's settings apply -----------------------------------------------------


def test_depth_limit_and_introspection_settings_apply():
    deep = "{ node { child { child { name } } } }"
    assert post(Client(), "/plain/", deep).status_code == 200
    with gql_settings(MAX_QUERY_DEPTH=2):
        response = post(Client(), "/plain/", deep)
        assert response.status_code == 400
        assert "levels deep" in response.json()["errors"][0]["message"]
    with gql_settings(INTROSPECTION=False):
        response = post(Client(), "/plain/", "{ __schema { queryType { name } } }")
        assert response.status_code == 400


def test_mask_errors_applies():
    with gql_settings(MASK_ERRORS=True):
        response = post(Client(), "/plain/", "{ fail }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"fail": None}
    assert body["errors"][0]["message"] == "Internal server error"
    assert "secret" not in response.content.decode()
    response = post(Client(), "/plain/", "{ fail }")
    assert "secret detail" in response.json()["errors"][0]["message"]


def test_apq_miss_is_200_uncached():
    with gql_settings(AUTOMATIC_PERSISTED_QUERIES=True):
        body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}}}
        response = Client().post("/plain/", json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_orm_backed_query_with_sync_resolvers():
    author = Author.objects.create(name="Le Guin")
    Book.objects.create(title="The Dispossessed", author=author)
    Book.objects.create(title="The Lathe of Heaven", author=author)
    with gql_settings(SYNC_EXECUTION=True):
        response = post(Client(), "/plain/", "{ books { title author } }")
    assert response.json() == {"data": {"books": [{"title": "The Dispossessed", "author": "Le Guin"},
                                                  {"title": "The Lathe of Heaven", "author": "Le Guin"}]}}


@pytest.mark.django_db(transaction=True)
async def test_orm_backed_query_with_sync_resolvers_under_asgi():
    await Book.objects.acreate(title="Parable of the Sower", author=await Author.objects.acreate(name="Butler"))
    with gql_settings(SYNC_EXECUTION=True):
        response = await AsyncClient().post("/plain/", {"query": "{ books { title author } }"},
                                            content_type="application/json")
    assert response.json() == {"data": {"books": [{"title": "Parable of the Sower", "author": "Butler"}]}}


@pytest.mark.django_db
def test_orm_backed_query_with_async_resolvers():
    Book.objects.create(title="Kindred", author=Author.objects.create(name="Butler"))
    response = post(Client(), "/plain/", "{ asyncBooks { title } }")
    assert response.json() == {"data": {"asyncBooks": [{"title": "Kindred"}]}}


# -- the IDE -----------------------------------------------------------------------


def test_ide_page_for_browsers_with_csrf_token_and_files():
    client = Client()
    response = client.get("/graphql/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in response
    page = response.content.decode()
    assert "GraphiQL" in page
    token = response.cookies[settings.CSRF_COOKIE_NAME].value
    assert 'data-csrf-header="X-CSRFTOKEN"' in page
    assert "data-csrf-token=" in page and token
    # tests.settings names an ASGI_APPLICATION, served at URL_PATTERN's path
    assert 'data-subscription-path="/graphql/"' in page
    asset = client.get("/graphql/", {"ide-asset": "page/endpoints.js"})
    assert asset.status_code == 200
    assert asset["Content-Type"].startswith("text/javascript")
    assert b"subscriptionPath" in asset.content
    assert client.get("/graphql/", {"ide-asset": "nope.js"}).status_code == 404
    # JSON clients, and ?raw, still get GraphQL
    assert post(client, "/graphql/", "{ hello }").json() == {"data": {"hello": "Hello world!"}}
    response = client.get("/graphql/", {"query": "{ hello }", "raw": ""}, headers={"Accept": "text/html"})
    assert response.json() == {"data": {"hello": "Hello world!"}}


def test_ide_subscription_path():
    html = {"Accept": "text/html"}
    page = Client().get("/ws-path/", headers=html).content.decode()
    assert 'data-subscription-path="/ws/graphql/"' in page
    with override_settings(ASGI_APPLICATION=None):
        page = Client().get("/graphql/", headers=html).content.decode()
    assert 'data-subscription-path=""' in page


def test_no_ide_unless_asked():
    response = Client().get("/plain/", headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Must provide query string."


# -- keyword arguments --------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"execution_context_class": object}, "execution_context_class"),
    ({"graphiql": "nope"}, "graphiql="),
    ({"middleware": "not a list"}, "list"),
])
def test_arguments_it_cannot_honour_are_refused_at_as_view(kwargs, words):
    with pytest.raises(TypeError, match=words):
        GraphQLView.as_view(schema=view_schema, **kwargs)


def test_graphene_2_arguments_are_refused_with_advice():
    with pytest.raises(TypeError, match="executor"):
        GraphQLView.as_view(executor=object())


def test_atomic_mutations_is_refused():
    with override_settings(GRAPHENE={"ATOMIC_MUTATIONS": True}), pytest.raises(ImproperlyConfigured):
        GraphQLView.as_view(schema=view_schema)


def test_middleware_and_validation_rules_arguments():
    assert post(Client(), "/shout/", "{ hello }").json() == {"data": {"hello": "HELLO WORLD!"}}
    assert post(Client(), "/plain/", "{ hello }").json() == {"data": {"hello": "Hello world!"}}
    response = post(Client(), "/rules/", "{ fail }")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "'fail' is not allowed here."
    # the settings' limits still apply beside the view's rules
    with gql_settings(MAX_QUERY_DEPTH=1):
        assert post(Client(), "/rules/", "{ node { child { name } } }").status_code == 400


def test_get_middleware_override_is_refused():
    class PerRequest(GraphQLView):
        def get_middleware(self, request):
            return []

    with pytest.raises(TypeError, match="middleware="):
        PerRequest.as_view(schema=view_schema)


# -- side by side with graphene-django's own view ---------------------------------------------


def _both(client_call):
    """(ours, theirs): the same request to both views."""
    return client_call("/ours/"), client_call("/theirs/")


@pytest.mark.graphene_env
class TestLikeGrapheneDjango:
    @pytest.fixture(autouse=True)
    def _needs_graphene_django(self):
        pytest.importorskip("graphene_django")

    @pytest.mark.parametrize("query", ["{ hello }", "{ hello fail }", "{ nope }", "{ hello"])
    def test_same_status_and_shape(self, query):
        ours, theirs = _both(lambda url: post(Client(), url, query))
        assert ours.status_code == theirs.status_code
        assert set(ours.json()) == set(theirs.json())
        assert ours.json().get("data") == theirs.json().get("data")

    @pytest.mark.parametrize(("body", "content_type"), [
        ("{not json", "application/json"), ('"x"', "application/json"), ("{}", "application/json"),
        ("{ hello }", "application/graphql"), ("{ hello }", "text/plain"),
    ])
    def test_same_status_for_bodies(self, body, content_type):
        ours, theirs = _both(lambda url: Client().post(url, body, content_type=content_type))
        assert ours.status_code == theirs.status_code
        assert set(ours.json()) == set(theirs.json())

    def test_same_for_get_mutations_and_methods(self):
        ours, theirs = _both(lambda url: Client().get(url, {"query": 'mutation { setColor(color: "x") { color } }'}))
        assert (ours.status_code, ours["Allow"]) == (theirs.status_code, theirs["Allow"]) == (405, "POST")
        ours, theirs = _both(lambda url: Client().delete(url))
        assert ours.status_code == theirs.status_code == 405

    def test_same_csrf_behaviour(self):
        for url in ("/ours/", "/theirs/"):
            client = Client(enforce_csrf_checks=True)
            assert post(client, url, "{ hello }").status_code == 403, url
            response = client.get(url, {"query": "{ hello }"})
            assert settings.CSRF_COOKIE_NAME in response.cookies, url
            token = response.cookies[settings.CSRF_COOKIE_NAME].value
            assert post(client, url, "{ hello }", headers={"X-CSRFToken": token}).status_code == 200, url

    @pytest.mark.django_db
    def test_same_context(self):
        user = get_user_model().objects.create_user("lin", password="pw")
        for url in ("/ours/", "/theirs/"):
            client = Client()
            client.force_login(user)
            assert post(client, url, "{ me }").json() == {"data": {"me": "lin"}}, url
            response = post(client, url, 'mutation { setColor(color: "red") { color } }')
            assert response.json() == {"data": {"setColor": {"color": "red"}}}, url
            assert client.session["color"] == "red"

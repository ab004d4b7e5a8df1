"""Every system-check id, through Django's own check framework."""

import pytest
from django.core import checks
from django.test import override_settings

BASE = {"SCHEMA": "example_project.schema.schema"}
MEM_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10000}}}


def ids(**overrides):
    with override_settings(**overrides):
        return [m.id for m in checks.run_checks() if m.id and m.id.startswith("gql_channels.")]


def test_clean_settings_have_no_messages():
    assert ids() == []


@pytest.mark.parametrize(
    ("gql", "expected"),
    [
        (["not", "a", "dict"], "gql_channels.E001"),
        ({**BASE, "SCHEME": "x"}, "gql_channels.E002"),
        ({}, "gql_channels.E003"),
        ({"SCHEMA": "no.such.module.schema"}, "gql_channels.E004"),
        ({"SCHEMA": "tests.check_fixtures.broken_module.schema"}, "gql_channels.E004"),
        ({"SCHEMA": "tests.check_fixtures.bad_things.not_a_schema"}, "gql_channels.E005"),
        ({"SCHEMA": "tests.check_fixtures.bad_things.invalid_schema"}, "gql_channels.E006"),
        ({**BASE, "KEEP_ALIVE": "yes"}, "gql_channels.E007"),
        ({**BASE, "CONNECTION_INIT_WAIT_TIMEOUT": -1}, "gql_channels.E007"),
        ({"SCHEMA": 42}, "gql_channels.E007"),
        ({**BASE, "GRAPHQL_IDE": "playground"}, "gql_channels.E008"),
        ({**BASE, "URL_PATTERN": "^graphql(/"}, "gql_channels.E008"),
        ({**BASE, "SUBSCRIPTION_PROTOCOLS": ["mqtt"]}, "gql_channels.E008"),
        ({**BASE, "SUBSCRIPTION_PROTOCOLS": []}, "gql_channels.E008"),
        ({**BASE, "HTTP_CONSUMER": "no.such.Consumer"}, "gql_channels.E009"),
        ({**BASE, "WS_CONSUMER": "tests.check_fixtures.bad_things.NotAConsumer"}, "gql_channels.E009"),
        ({**BASE, "VALIDATION_RULES": ["no.such.Rule"]}, "gql_channels.E010"),
        ({**BASE, "VALIDATION_RULES": ["tests.check_fixtures.bad_things.not_a_rule"]}, "gql_channels.E010"),
        ({**BASE, "CHANNEL_LAYER": "other"}, "gql_channels.E011"),
        ({**BASE, "MODEL_EVENTS": ["chat.Message"]}, "gql_channels.E007"),
        ({**BASE, "MODEL_EVENTS": {"chat.Nope": "g"}}, "gql_channels.E020"),
        ({**BASE, "MODEL_EVENTS": {"Message": "g"}}, "gql_channels.E020"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": "room_{nofield}"}}, "gql_channels.E021"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": "room_{0}"}}, "gql_channels.E021"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": "room_{room"}}, "gql_channels.E021"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": "chat room {room}"}}, "gql_channels.E021"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": "example_project.schema.no_such_function"}}, "gql_channels.E022"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": "example_project.schema.ITEMS"}}, "gql_channels.E022"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": "chat room"}}, "gql_channels.E023"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": 42}}, "gql_channels.E023"),
        ({**BASE, "MODEL_EVENTS": {"chat.Message": []}}, "gql_channels.E023"),
    ],
)
def test_each_error_has_its_own_id(gql, expected):
    assert expected in ids(GQL_CHANNELS=gql)


def test_messages_name_the_key_and_carry_a_hint():
    with override_settings(GQL_CHANNELS={**BASE, "KEEP_ALIVE": "yes", "GRAPHQL_IDE": "playground"}):
        messages = [m for m in checks.run_checks() if m.id and m.id.startswith("gql_channels.")]
    texts = {m.id: m for m in messages}
    assert "KEEP_ALIVE" in texts["gql_channels.E007"].msg
    assert "a bool" in texts["gql_channels.E007"].msg
    assert "'graphiql'" in texts["gql_channels.E008"].hint
    assert all(m.level == checks.ERROR for m in messages)


@pytest.mark.parametrize(("typo", "meant"), [("keep_alive", "KEEP_ALIVE"), ("URL_PATERN", "URL_PATTERN")])
def test_unknown_key_suggests_the_close_one(typo, meant):
    with override_settings(GQL_CHANNELS={**BASE, typo: True}):
        (message,) = [m for m in checks.run_checks() if m.id == "gql_channels.E002"]
    assert message.hint == f"Did you mean {meant!r}?"


def test_unimportable_layer_backend_is_e012():
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChanelLayer"}}
    with override_settings(CHANNEL_LAYERS=layers):
        (message,) = [m for m in checks.run_checks() if m.id and m.id.startswith("gql_channels.")]
    assert message.id == "gql_channels.E012"
    assert message.msg.startswith("CHANNEL_LAYERS['default'] BACKEND 'channels_redis.core.RedisChanelLayer'")


def test_problems_without_a_key_name_their_setting():
    with override_settings(GQL_CHANNELS=["x"]):
        (message,) = [m for m in checks.run_checks() if m.id == "gql_channels.E001"]
    assert message.msg == "GQL_CHANNELS must be a dict, not list."


def test_missing_setting_is_e003():
    from django.conf import settings

    with override_settings():
        del settings.GQL_CHANNELS
        assert ids() == ["gql_channels.E003"]


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({}, "gql_channels.W003"),
        ({"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}, "gql_channels.W002"),
        ({"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                      "CONFIG": {"hosts": ["redis://127.0.0.1:6379"], "capacity": 5000}}}, "gql_channels.W001"),
        ({"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                      "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:6379", "socket_timeout": None}],
                                 "capacity": 5000}}}, "gql_channels.W001"),
    ],
)
def test_layer_warnings(layers, expected):
    found = ids(CHANNEL_LAYERS=layers)
    assert found == [expected]


def test_safe_redis_hosts_give_no_warning():
    layers = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                          "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:6379", "socket_timeout": None,
                                                "max_connections": 4096}], "capacity": 5000}}}
    assert ids(CHANNEL_LAYERS=layers) == []


def test_a_valid_custom_rule_passes():
    assert ids(GQL_CHANNELS={**BASE, "VALIDATION_RULES": ["tests.check_fixtures.bad_things.NoFieldNamedSecret"]}) == []


def test_debug_tracebacks_under_masking_are_w031():
    base = {"SCHEMA": "example_project.schema.schema", "DEBUG": True}

    def w031(**overrides):
        with override_settings(**overrides):
            return [m.id for m in checks.run_checks() if m.id == "gql_channels.W031"]

    assert w031(DEBUG=False, GQL_CHANNELS=base) == ["gql_channels.W031"]
    assert w031(DEBUG=False, GQL_CHANNELS={**base, "MASK_ERRORS": False}) == []
    assert w031(DEBUG=True, GQL_CHANNELS=base) == []


@pytest.mark.parametrize("page", ["README.rst", "docs/install.rst"])
def test_the_quickstart_channel_layers_pass_the_checks_without_a_warning(page):
    import re
    from pathlib import Path

    from django.test import override_settings

    from django_gql_channels.checks import layer_problems

    text = (Path(__file__).resolve().parent.parent / page).read_text()
    block = re.search(r"^    (CHANNEL_LAYERS = \{.*?\n    \}\}|CHANNEL_LAYERS = .*?)$", text, re.M | re.S)
    assert block is not None
    namespace: dict = {}
    exec(block.group(1).replace("\n    ", "\n"), namespace)  # noqa: S102 - our own docs
    with override_settings(CHANNEL_LAYERS=namespace["CHANNEL_LAYERS"]):
        assert layer_problems("default") == []


SAFE_DEPLOY = {"SCHEMA": "example_project.schema.schema", "GRAPHQL_IDE": None, "INTROSPECTION": False,
               "MASK_ERRORS": True}


def _deploy_ids(**gql):
    from django_gql_channels.deploy_checks import deploy_problems

    with override_settings(GQL_CHANNELS={**SAFE_DEPLOY, **gql}, DEBUG=False):
        return [(m.id, m) for m in deploy_problems()]


def test_production_settings_pass_the_deploy_checks():
    assert _deploy_ids() == []


@pytest.mark.parametrize(("gql", "expected"), [
    ({"GRAPHQL_IDE": "graphiql"}, "gql_channels.W110"),
    ({"INTROSPECTION": True}, "gql_channels.W111"),
    ({"MASK_ERRORS": False}, "gql_channels.W112"),
    ({"DEBUG": True}, "gql_channels.W115"),
    ({"MAX_QUERY_DEPTH": None, "MAX_MESSAGE_SIZE": None}, "gql_channels.W114"),
])
def test_each_unsafe_switch_gets_a_deploy_warning_with_a_hint(gql, expected):
    found = _deploy_ids(**gql)
    assert [i for i, _ in found] == [expected]
    assert found[0][1].hint
    for key in gql:
        if key.startswith("MAX_"):
            assert key in found[0][1].msg


def test_limit_keys_not_in_defaults_are_ignored(monkeypatch):
    from django_gql_channels import deploy_checks

    monkeypatch.setattr(deploy_checks, "LIMIT_KEYS", (*deploy_checks.LIMIT_KEYS, "MAX_NOT_YET"))
    assert _deploy_ids(MAX_NOT_YET=None) == []


@pytest.mark.parametrize(("host", "count"), [
    ({"address": "redis://127.0.0.1:6379", "socket_timeout": None}, 0),
    ("unix:///run/redis.sock", 0),
    ({"address": "rediss://:secret@redis.internal:6379"}, 0),
    ({"address": "redis://redis.internal:6379"}, 2),
    (("10.0.0.5", 6379), 2),
    ({"address": "redis://:secret@redis.internal:6379"}, 1),
])
def test_redis_hosts_off_loopback_need_tls_and_a_password(host, count):
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [host]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        found = _deploy_ids()
    assert [i for i, _ in found] == ["gql_channels.W113"] * count


def test_deploy_checks_run_only_with_deploy():
    from django.core.checks import run_checks

    with override_settings(GQL_CHANNELS={**SAFE_DEPLOY, "INTROSPECTION": True}):
        assert "gql_channels.W111" not in [m.id for m in run_checks()]
        assert "gql_channels.W111" in [m.id for m in run_checks(include_deployment_checks=True)]


@pytest.mark.parametrize(("apps", "debug", "warned"), [
    (["django.contrib.staticfiles", "channels", "django_gql_channels"], True, True),
    (["django.contrib.staticfiles", "daphne", "channels", "django_gql_channels"], True, True),
    (["daphne", "django.contrib.staticfiles", "channels", "django_gql_channels"], True, False),
    (["django.contrib.staticfiles", "channels", "django_gql_channels"], False, False),
])
def test_runserver_without_daphne_is_warned_about_under_debug(apps, debug, warned):
    from django_gql_channels.checks import check_runserver

    with override_settings(INSTALLED_APPS=apps, DEBUG=debug):
        assert [m.id for m in check_runserver()] == (["gql_channels.W116"] if warned else [])


def test_a_schema_declaring_defer_that_cannot_be_delivered_is_w090():
    from django_gql_channels.engine import INCREMENTAL_AVAILABLE

    found = ids(GQL_CHANNELS={"SCHEMA": "tests.defer_schema.schema"}, CHANNEL_LAYERS=MEM_LAYER)
    # graphql-core 3.3 delivers them; 3.2 refuses them, and says so at start-up.
    assert ("gql_channels.W091" in found) is not INCREMENTAL_AVAILABLE

"""GQL_CHANNELS: defaults, import strings, type errors at use, reload on setting_changed."""

import pytest
from django.test import override_settings
from graphql import GraphQLSchema

from django_gql_channels.conf import (
    DEFAULTS,
    VALIDATION_SETTINGS,
    SettingProblem,
    SettingsError,
    gql_settings,
    on_reload,
)


def test_defaults_match_the_contract():
    assert DEFAULTS["URL_PATTERN"] == r"^graphql/?$"
    assert DEFAULTS["GRAPHQL_IDE"] == "graphiql"
    assert DEFAULTS["ALLOW_QUERIES_VIA_GET"] is True
    assert DEFAULTS["MULTIPART_UPLOADS_ENABLED"] is False
    assert DEFAULTS["SUBSCRIPTION_PROTOCOLS"] == ["graphql-transport-ws", "graphql-ws"]
    assert DEFAULTS["CONNECTION_INIT_WAIT_TIMEOUT"] == 60
    assert DEFAULTS["KEEP_ALIVE"] is False and DEFAULTS["KEEP_ALIVE_INTERVAL"] == 1
    assert DEFAULTS["DEBUG"] is False
    assert DEFAULTS["AUTH_MIDDLEWARE"] is True and DEFAULTS["ALLOWED_ORIGINS_CHECK"] is True


def test_schema_is_imported_and_unwrapped_once():
    schema = gql_settings.SCHEMA
    assert isinstance(schema, GraphQLSchema)
    assert gql_settings.SCHEMA is schema


def test_unset_keys_fall_back_to_defaults():
    assert gql_settings.GRAPHQL_IDE == "graphiql"
    assert gql_settings.MAX_QUERY_DEPTH == DEFAULTS["MAX_QUERY_DEPTH"]


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="Invalid GQL_CHANNELS setting"):
        gql_settings.NOT_A_KEY


def test_override_settings_reloads():
    with override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "GRAPHQL_IDE": None}):
        assert gql_settings.GRAPHQL_IDE is None
    assert gql_settings.GRAPHQL_IDE == "graphiql"


def test_reload_runs_registered_callbacks():
    calls = []
    on_reload(lambda: calls.append(1))
    with override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema"}):
        pass
    assert len(calls) == 2  # entering and leaving


def test_wrong_type_raises_a_settings_error_naming_the_key():
    with override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "KEEP_ALIVE": "yes"}):
        with pytest.raises(SettingsError, match=r"GQL_CHANNELS\['KEEP_ALIVE'\]: must be a bool"):
            gql_settings.KEEP_ALIVE


def test_unimportable_schema_raises_with_a_hint():
    with override_settings(GQL_CHANNELS={"SCHEMA": "nowhere.schema"}):
        with pytest.raises(SettingsError, match="could not import 'nowhere.schema'") as info:
            gql_settings.SCHEMA
    assert info.value.problem.id == "gql_channels.E004"


def test_import_strings_are_imported():
    with override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema",
                                         "VALIDATION_RULES": ["tests.check_fixtures.bad_things.NoFieldNamedSecret"]}):
        from tests.check_fixtures.bad_things import NoFieldNamedSecret

        assert gql_settings.VALIDATION_RULES == [NoFieldNamedSecret]


def test_a_problem_is_an_error_or_a_warning_as_its_id_says():
    assert SettingProblem("gql_channels.E007", "DEBUG", "must be a bool").level == "error"
    assert SettingProblem("gql_channels.W031", "DEBUG", "masked").level == "warning"


def test_validation_settings_are_what_a_validating_engine_is_built_from(monkeypatch):
    """A setting the engine's validation reads must stop document checks while it is broken."""
    from django_gql_channels.conf import GQLChannelsSettings
    from django_gql_channels.engine import configured, engine_options

    read = []
    original = GQLChannelsSettings.__getattr__

    def recording(self, key):
        read.append(key)
        return original(self, key)

    # A fresh settings object: a value read once becomes a plain attribute,
    # which __getattr__ no longer sees (reload callbacks read some at once).
    monkeypatch.setattr(configured, "gql_settings", GQLChannelsSettings())
    monkeypatch.setattr(GQLChannelsSettings, "__getattr__", recording)
    engine_options(persisted=False)
    assert VALIDATION_SETTINGS == {"SCHEMA", *read}

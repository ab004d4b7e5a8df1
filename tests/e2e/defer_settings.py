"""Live-server settings for incremental delivery: the @defer/@stream schema, SSE on, errors masked."""

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

GQL_CHANNELS = {
    **{k: v for k, v in GQL_CHANNELS.items() if k not in ("MASK_ERRORS", "MODEL_EVENTS")},
    "SCHEMA": "tests.defer_schema.schema",
    "SSE_ENABLED": True,
    "MASK_ERRORS": True,
    "GRAPHQL_IDE": "graphiql",
}

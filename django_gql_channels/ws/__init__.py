"""GraphQL over WebSockets: ``graphql-transport-ws`` and the legacy ``graphql-ws`` protocol."""

from .consumer import GraphQLWSConsumer

__all__ = ["GraphQLWSConsumer"]

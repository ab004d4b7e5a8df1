"""GraphQL over HTTP and Server-Sent Events: the consumer, its request/response types, uploads and IDE pages."""

from .consumer import GraphQLHTTPConsumer
from .errors import HTTPError
from .types import ChannelsRequest, ChannelsResponse, TemporalResponse

__all__ = ["ChannelsRequest", "ChannelsResponse", "GraphQLHTTPConsumer", "HTTPError", "TemporalResponse"]

"""Everything that talks to the channel layer: the consumer base and ``listen_to_channel``,
the process-wide group memberships, and surviving layer outages. Never imports the engine."""

from .consumer import ChannelListener, ChannelsConsumer, scope_headers

__all__ = ["ChannelListener", "ChannelsConsumer", "scope_headers"]

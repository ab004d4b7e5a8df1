"""Everything that talks to the channel layer. Never imports the engine.

- :mod:`.consumer`: ``ChannelsConsumer``, the base of both transports, and ``listen_to_channel``;
- :mod:`.listener`: ``ChannelListener``, the iterator a listener reads;
- :mod:`.layer_view`: the ``channel_layer`` a consumer's resolvers see;
- :mod:`.groups`: the process-wide group memberships listeners share;
- :mod:`.receiving` and :mod:`.outage`: receiving a channel through layer outages;
- :mod:`.names`: Channels' group-name rules;
- :mod:`.loops`: state kept per event loop.
"""

from .consumer import ChannelsConsumer, scope_headers
from .listener import ChannelListener
from .loops import PerLoop

__all__ = ["ChannelListener", "ChannelsConsumer", "PerLoop", "scope_headers"]

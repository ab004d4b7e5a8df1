"""A consumer for live tests: ``connection_params`` and the query string steer its hooks.

- ``connection_params={"reject": X}``: ``on_ws_connect`` raises ``ConnectionRejectionError(X)``
- ``connection_params={"crash": true}``: ``on_ws_connect`` raises ``RuntimeError`` (4500 / 1011)
- ``connection_params={"ack": X}``: ``X`` is the ack payload
- ``?keepalive=SECONDS`` in the URL: keep-alive messages every SECONDS
"""

from __future__ import annotations

from urllib.parse import parse_qs

from django_gql_channels import UNSET, ConnectionRejectionError, GraphQLWSConsumer


class SteerableConsumer(GraphQLWSConsumer):
    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode())
        if "keepalive" in query:
            self.keep_alive = True
            self.keep_alive_interval = float(query["keepalive"][0])
        return await super().__call__(scope, receive, send)

    async def on_ws_connect(self, context):
        params = context["connection_params"]
        if "reject" in params:
            raise ConnectionRejectionError(params["reject"])
        if params.get("crash"):
            raise RuntimeError("crash requested by the client")
        return params.get("ack", UNSET)

"""Stand-in consumers that record what the router hands them."""

import json

seen = []


class _Stub:
    kind = "stub"

    @classmethod
    def as_asgi(cls, **initkwargs):
        async def app(scope, receive, send):
            seen.append((cls.kind, scope, initkwargs))
            if scope["type"] == "http":
                body = json.dumps({"consumer": cls.kind}).encode()
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": body})
            else:
                await receive()
                await send({"type": "websocket.accept"})

        return app


class HTTPStub(_Stub):
    kind = "http"


class WSStub(_Stub):
    kind = "ws"

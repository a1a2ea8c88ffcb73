"""The outermost middleware: an answer given before the request's body was read (a wrong widget key's 401, a
rate limit's 429) waits until the body has arrived, so that the client reads the answer.

A server that answers and closes the connection while the client is still sending makes the client's
operating system reset it, and the reset throws away the answer it had not read yet: a refused 1 MB upload
met a connection error instead of its localized 401 or 429, a third of the time with a few clients at once.
Reading what is left costs as much as the upload the client sends anyway, and is bounded by the route's largest
body: past it the answer goes out and the server closes, as before.
"""

from __future__ import annotations

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send


class UnreadBodyMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = Headers.from_scope(scope)
        declared = headers.get("content-length", "")
        handler = scope.get("route_handler")
        limit = handler.resolve_request_max_body_size() if isinstance(handler, HTTPRouteHandler) else None
        no_body = declared == "0" or (not declared and "transfer-encoding" not in headers)
        too_large = declared.isdigit() and limit is not None and int(declared) > limit
        if no_body or too_large:  # nothing to wait for, or too much: the answer goes out as it comes
            await next_app(scope, receive, send)
            return
        received = 0
        ended = False

        async def receive_and_count() -> ReceiveMessage:
            nonlocal received, ended
            message = await receive()
            if message["type"] == "http.request":
                received += len(message["body"])
                ended = not message.get("more_body", False)
            else:
                ended = message["type"] == "http.disconnect"
            return message

        async def send_after_body(message: Message) -> None:
            if message["type"] == "http.response.start":
                while not ended and (limit is None or received <= limit):
                    await receive_and_count()
            await send(message)

        await next_app(scope, receive_and_count, send_after_body)

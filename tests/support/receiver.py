"""A real HTTP/1.1 server for tests that receive Lantern's requests (webhooks, GitHub's API): it records each
request and answers from a script.

It runs in the test's event loop on 127.0.0.1 (a free port), reads Content-Length bodies, answers every
request with the next status of its script (the last one repeats), or with what `respond` makes of it (a
status and a JSON body), and closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

MAX_HEAD_LINES = 100


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as it arrived: header names lower-cased, the body's bytes as sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        return f"{self.method} {self.path} ({self.headers.get('x-lantern-event', 'no event header')})"


# (the request, how many came before it) -> (the status, a JSON body).
Responder = Callable[[ReceivedRequest, int], tuple[int, Any]]


class Receiver:
    """`async with Receiver(statuses=[500, 200]) as receiver:` then point a webhook at `receiver.url`."""

    def __init__(
        self,
        statuses: Sequence[int] = (200,),
        path: str = "/hook",
        respond: Responder | None = None,
        answer_headers: Sequence[Mapping[str, str]] = (),
        held_until: asyncio.Event | None = None,
    ) -> None:
        """`answer_headers`: the headers of the first answers, in turn (none on later ones); `held_until`: each
        request is recorded as it arrives, and answered only once this is set."""
        if not statuses:
            msg = "the script needs at least one status"
            raise ValueError(msg)
        self.statuses = list(statuses)
        self.path = path
        self.respond = respond
        self.answer_headers = list(answer_headers)
        self.held_until = held_until
        self.requests: list[ReceivedRequest] = []
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}{self.path}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[ReceivedRequest]:  # noqa: ASYNC109 - a deadline that fails the test
        """The requests so far, once at least `count` have arrived; fails the test after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(lambda: len(self.requests) >= count)
        except TimeoutError:
            seen = [request.describe() for request in self.requests] or "nothing"
            msg = f"{self.url} expected {count} request(s) within {timeout} s, received {len(self.requests)}: {seen}"
            raise AssertionError(msg) from None
        return list(self.requests)

    def _status(self) -> int:
        return self.statuses[min(len(self.requests), len(self.statuses) - 1)]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            async with self._arrived:
                index = len(self.requests)
                status, body = self.respond(request, index) if self.respond else (self._status(), None)
                headers = self.answer_headers[index] if index < len(self.answer_headers) else {}
                self.requests.append(request)
                self._arrived.notify_all()
            if self.held_until is not None:
                await self.held_until.wait()
            writer.write(_response(status, body, headers))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            return  # a client that hung up or spoke no HTTP: nothing to record
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
    start = (await reader.readline()).decode("latin-1").strip()
    if not start:
        return None
    method, target, _version = start.split(" ", 2)
    headers: dict[str, str] = {}
    for _ in range(MAX_HEAD_LINES):
        line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return ReceivedRequest(method=method, path=target, headers=headers, body=body, received_at=time.monotonic())


def _response(status: int, answer: Any = None, headers: Mapping[str, str] | None = None) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Scripted"
    body = f"{status} {reason}\n".encode() if answer is None else json.dumps(answer).encode()
    content_type = "text/plain; charset=utf-8" if answer is None else "application/json"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        + "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HangingReceiver:
    """A receiver that reads each request and answers nothing until it is closed."""

    def __init__(self) -> None:
        self.held = 0
        self._closing = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hook"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._closing.set()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def holding(self, count: int, timeout: float) -> None:  # noqa: ASYNC109 - a deadline that fails the test
        """Once `count` requests are held; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.held < count:
            assert time.monotonic() < deadline, f"{self.held} of {count} deliveries arrived"
            await asyncio.sleep(0.05)

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.held += 1
        await self._closing.wait()
        writer.close()

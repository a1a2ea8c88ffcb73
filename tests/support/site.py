"""A customer's web site for the widget's browser tests: fixed pages on http://localhost:<port>, an origin
apart from Lantern's http://127.0.0.1:<port>, as a real embedding site is. Any other path answers 404."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class Site:
    """`pages` maps a path to its HTML, or to a PNG image's bytes (served without CORS headers, as most sites'
    images are)."""

    def __init__(self, pages: dict[str, str | bytes]) -> None:
        self.pages = pages
        self._server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        assert self._server is not None
        return f"http://localhost:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def __enter__(self) -> Self:
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = pages.get(self.path)
                body = page if isinstance(page, bytes) else (page if page is not None else "not found").encode()
                self.send_response(200 if page is not None else 404)
                kind = "image/png" if isinstance(page, bytes) else "text/html; charset=utf-8"
                self.send_header("Content-Type", kind if page is not None else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
                """Quiet: the test's own assertions tell what happened."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

"""uvicorn's h11 protocol, answering unparseable requests in the service's JSON error shape.

uvicorn answers a request h11 cannot parse (e.g. a request line or headers longer than
`h11_max_incomplete_event_size`) with a plain-text 400 before the app ever sees it. This
subclass sends `{code, message}` instead: 414 when the request line itself is too long,
431 when the headers are, 400 for anything else malformed. `registry serve` uses it with a
64 KiB head limit, so URLs up to that size reach the app, which refuses anything over
8 KiB with its own 414 (:class:`verify_api.middleware.UrlLengthLimit`).
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD_BYTES = 64 * 1024
"""Request line plus headers that uvicorn buffers per connection before refusing."""
H11_DEFAULT_HEAD_BYTES = 16 * 1024

_REFUSALS = {
    400: (b"Bad Request", "request.malformed", "the HTTP request cannot be parsed"),
    414: (b"URI Too Long", "request.uri_too_long", "the request line is too long"),
    431: (
        b"Request Header Fields Too Large",
        "request.headers_too_large",
        "the request headers are too large",
    ),
}


class JsonErrorH11Protocol(H11Protocol):
    """H11Protocol whose protocol-level refusals are JSON `{code, message}`."""

    def _refusal_status(self) -> int:
        buffered, _ = self.conn.trailing_data
        limit = self.config.h11_max_incomplete_event_size or H11_DEFAULT_HEAD_BYTES
        if len(buffered) < limit:
            return 400
        return 431 if b"\r\n" in buffered[:limit] else 414

    def send_400_response(self, msg: str) -> None:
        status = self._refusal_status()
        reason, code, message = _REFUSALS[status]
        body = json.dumps({"code": code, "message": message}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        # h11 only has our side of the connection left to drive after a protocol error.
        start = h11.Response(status_code=status, headers=headers, reason=reason)
        for event in (start, h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

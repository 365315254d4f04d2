"""uvicorn's HTTP protocol (httptools), answering a request it cannot parse (a request line or headers
too long for the parser, bad syntax) in the API's error shape rather than uvicorn's plain text."""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from webapp.core.error_shape import error_body

UNPARSABLE = json.dumps(error_body("bad_request", "The request could not be read as HTTP.")).encode()


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(UNPARSABLE)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + UNPARSABLE)
        self.transport.close()

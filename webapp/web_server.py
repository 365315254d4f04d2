"""The one command line of the HTTP server (uvicorn on the ASGI entry point), for the run command,
the tests and the image: an event loop reads every request whole before a Django thread sees it."""

from __future__ import annotations

import os
import sys


def web_server_command(python: str, host: str, port: int | str, workers: int | str) -> list[str]:
    """uvicorn with its C HTTP parser (answering what it cannot parse in JSON) and event loop; forwarded
    headers are left to TRUSTED_PROXIES."""
    return [
        python,
        "-m",
        "uvicorn",
        "webapp.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "webapp.core.http_protocol:JsonErrorHttpToolsProtocol",
        "--no-proxy-headers",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "10",
    ]


def main() -> None:
    """`python -m webapp.web_server`: the server on HOST:PORT with WEB_WORKERS processes (the image's command)."""
    command = web_server_command(
        sys.executable,
        os.environ.get("HOST", "127.0.0.1"),
        os.environ.get("PORT", "8000"),
        os.environ.get("WEB_WORKERS", "2"),
    )
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()

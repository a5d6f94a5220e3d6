"""`leaderboard serve`: preview a built site on http://127.0.0.1:<port>/ (loopback only)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from runner.errors import UserError

HOST = "127.0.0.1"


def make_server(directory: Path, port: int) -> ThreadingHTTPServer:
    """An HTTP server for `directory` bound to 127.0.0.1 (port 0 picks a free port).

    Raises:
        UserError: the folder is missing or the port cannot be bound.
    """
    if not (directory / "index.html").is_file():
        raise UserError(f"--dir {directory}: no index.html (run `leaderboard build` first)")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as error:
        raise UserError(f"--port {port}: cannot listen on {HOST} ({error.strerror})") from None


def serve(directory: Path, port: int) -> None:
    """Serve until interrupted."""
    server = make_server(directory, port)
    host, bound = server.server_address[:2]
    print(f"serving {directory} at http://{host}:{bound}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

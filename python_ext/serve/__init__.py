"""``indexctl serve``: the search API over HTTP (Starlette + uvicorn), warm and local.

:func:`serve` loads a :class:`~python_ext.search.Searcher` (index, BM25, vectors, embedder —
once), builds the app (:func:`python_ext.serve.app.create_app`) and runs it with uvicorn on
``127.0.0.1`` unless told otherwise. There is no authentication: bind to another interface
only behind something that provides it. Guide: docs/search.md#serve.
"""

from __future__ import annotations

import ipaddress
import socket
import sys

from python_ext.config import DataRootLike, resolve_data_root
from python_ext.errors import UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for ``host:port`` (0: a free port) to hand to uvicorn.

    Created with ``IPPROTO_TCP`` explicitly: asyncio sets ``TCP_NODELAY`` only on connections of
    such sockets, and without it every response waits ~40 ms for the client's delayed ACK
    (uvicorn writes the headers and the body separately).

    :raises UsageError: the address cannot be bound (in use, or not this machine's).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port (0: any free port) or --host",
        ) from exc
    sock.set_inheritable(True)
    return sock


def serve(
    data_root: DataRootLike = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    version: str | None = None,
    operating_point: str | None = None,
    reload_interval: float = 2.0,
    log_level: str = "warning",
    embed_threads: int = 1,
) -> None:
    """Serve search over HTTP until interrupted: Ctrl-C (SIGINT) stops it gracefully and returns;
    SIGTERM stops it gracefully and then ends the process by that signal (uvicorn's convention).

    :param host: interface to bind (default ``127.0.0.1``: this machine only).
    :param port: TCP port (0: any free port, printed at start).
    :param version: pin a version instead of following the published one.
    :param operating_point: override the tuned operating point.
    :param reload_interval: seconds between checks for a new published version / catalog (0: off).
    :param embed_threads: intra-op threads of a torch query embedder (default 1: each request
        embeds one query; requests run concurrently in the server's thread pool).
    :raises UsageError: a port outside 0–65535 or a negative reload interval.
    """
    import uvicorn

    from python_ext.search import Searcher
    from python_ext.serve.app import create_app

    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0–65535, got {port}", hint=f"the default is {DEFAULT_PORT}")
    if reload_interval < 0:
        raise UsageError(f"--reload-interval must be >= 0, got {reload_interval}", hint="0 turns it off")
    searcher = Searcher(
        resolve_data_root(data_root), version=version, operating_point=operating_point, warm=True
    )
    app = create_app(searcher, reload_interval=reload_interval)
    if not is_loopback(host):
        print(
            f"Warning: serving on {host}, reachable from other machines, without authentication",
            file=sys.stderr,
        )
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    try:
        sock = config.bind_socket()
    except SystemExit as exc:  # uvicorn exits when the address is taken
        raise UsageError(
            f"cannot listen on {host}:{port}", hint="pick another --port (0: any free port)"
        ) from exc
    bound = sock.getsockname()[1]
    state = searcher.state
    url = f"http://{host if ':' not in host else f'[{host}]'}:{bound}"
    print(
        f"indexctl serve: version {state.version} ({state.ntotal:,} chunks) on {url}  "
        "(GET /health, /search?q=…, /metrics; Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down gracefully for
        print("indexctl serve: stopped", file=sys.stderr)

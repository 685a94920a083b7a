"""The HTTP JSON API of ``indexctl serve``: a Starlette app over one warm :class:`Searcher`.

Endpoints (all JSON except ``/metrics``; see docs/search.md#serve):

* ``GET /search?q=…&k=10&channel=hybrid&lang=…&include=…&exclude=…&module=…&symbol=…&content=1``
  and ``POST /search`` with the same fields as a JSON object (plus ``vector`` for corpora of
  precomputed embeddings) — :meth:`Searcher.search`; repeat a filter parameter (or pass a JSON
  list) for alternatives;
* ``GET /chunks/{chunk_id}`` — one chunk with its text;
* ``GET /symbols/chunks?name=…&k=100`` — chunks that define or reference the symbol(s);
* ``GET /modules/chunks?module=…&limit=100`` — chunks of a module and its submodules;
* ``GET /health`` — the version served, its operating point, the RRF settings, reloads;
* ``GET /metrics`` — Prometheus exposition (:mod:`python_ext.serve.metrics`);
* ``POST /reload`` — switch to a newly published version / refreshed catalog now.

Errors are ``{"error": …, "hint": …, "type": …}`` with 400 (bad parameters), 404 (unknown chunk,
or a filter, symbol or module that matches nothing), 409 (the version lacks what the request
needs, e.g. its BM25 index), 503 (nothing published) or 500.

A background thread calls :meth:`Searcher.refresh` every ``reload_interval`` seconds; the switch
is one reference swap, and each request reads the reference once, so every answer comes wholly
from one state.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from python_ext.errors import (
    ChunkNotFoundError,
    ConfigError,
    IndexctlError,
    IndexMismatchError,
    InputError,
    NoMatchError,
    UsageError,
    VersionNotFoundError,
)
from python_ext.search import Searcher
from python_ext.serve.metrics import CONTENT_TYPE, SearchMetrics

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _status(exc: IndexctlError) -> int:
    if isinstance(exc, (ChunkNotFoundError, NoMatchError)):
        return 404
    if isinstance(exc, VersionNotFoundError):
        return 503
    if isinstance(exc, IndexMismatchError):
        return 409
    if isinstance(exc, (UsageError, InputError, ConfigError)):
        return 400
    return 500


def _error(exc: IndexctlError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.message, "hint": exc.hint, "type": type(exc).__name__}, status_code=_status(exc)
    )


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{name} must be true or false, got {value!r}")


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name} must be an integer, got {value!r}", hint=f"e.g. {name}=10") from exc


def _many(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise UsageError(f"{name} must be a string or a list of strings, got {value!r}")
    return values


_SEARCH_FIELDS = (
    "q",
    "query",
    "k",
    "channel",
    "lang",
    "include",
    "exclude",
    "module",
    "symbol",
    "content",
    "vector",
)


def _search_options(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(_SEARCH_FIELDS))
    if unknown:
        raise UsageError(
            f"unknown search parameter(s): {', '.join(unknown)}",
            hint=f"parameters: {', '.join(_SEARCH_FIELDS)}",
        )
    query = fields.get("q", fields.get("query"))
    if query is not None and not isinstance(query, str):
        raise UsageError(f"q must be a string, got {query!r}")
    vector = fields.get("vector")
    if vector is not None and (
        not isinstance(vector, list)
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector)
    ):
        raise UsageError("vector must be a list of numbers")
    return {
        "query": query or "",
        "k": _int(fields.get("k", 10), "k"),
        "channel": str(fields.get("channel", "hybrid")),
        "lang": _many(fields.get("lang"), "lang"),
        "include": _many(fields.get("include"), "include"),
        "exclude": _many(fields.get("exclude"), "exclude"),
        "module": _many(fields.get("module"), "module"),
        "symbol": _many(fields.get("symbol"), "symbol"),
        "content": _bool(fields.get("content", False), "content"),
        "query_vector": vector,
    }


def _query_fields(request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        out[key] = values if key in ("lang", "include", "exclude", "module", "symbol", "name") else values[-1]
    return out


def create_app(
    searcher: Searcher, *, reload_interval: float = 2.0, metrics: SearchMetrics | None = None
) -> Starlette:
    """The ASGI app serving ``searcher``.

    :param reload_interval: seconds between checks for a newly published version or refreshed
        catalog (0 disables the background check; ``POST /reload`` still works).
    :param metrics: the metrics to record into (default: a fresh registry).
    """
    metrics = metrics or SearchMetrics()
    metrics.serving(searcher.state.version, searcher.state.ntotal)
    status: dict[str, Any] = {"last_reload_error": None}
    reload_lock = threading.Lock()

    def reload_now() -> bool:
        with reload_lock:
            try:
                switched = searcher.refresh()
            except IndexctlError as exc:
                metrics.reload_failures.inc()
                status["last_reload_error"] = exc.message
                raise
            status["last_reload_error"] = None
            if switched:
                metrics.reloads.inc()
                metrics.serving(searcher.state.version, searcher.state.ntotal)
            return switched

    def handler(endpoint: str, fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            try:
                if request.method == "POST" and endpoint == "/search":
                    try:
                        body = await request.json()
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        raise UsageError(f"the request body is not JSON: {exc}") from exc
                    if not isinstance(body, dict):
                        raise UsageError("the request body must be a JSON object")
                    request.state.body = body
                response = await run_in_threadpool(fn, request)
            except IndexctlError as exc:
                response = _error(exc)
            except Exception as exc:  # a bug: answer in JSON, count it, keep serving
                import logging

                logging.getLogger("python_ext.serve").exception("unexpected error on %s", endpoint)
                response = JSONResponse(
                    {
                        "error": f"unexpected {type(exc).__name__}: {exc}",
                        "hint": None,
                        "type": "InternalError",
                    },
                    status_code=500,
                )
            metrics.requests.labels(endpoint=endpoint, status=str(response.status_code)).inc()
            return response

        return run

    def search(request: Request) -> Response:
        fields = getattr(request.state, "body", None) if request.method == "POST" else _query_fields(request)
        options = _search_options(fields or {})
        result = searcher.search(options.pop("query"), **options)
        metrics.observe_search(result)
        return JSONResponse(result.to_dict())

    def chunk(request: Request) -> Response:
        content = _bool(request.query_params.get("content", "true"), "content")
        return JSONResponse(
            searcher.chunk(_int(request.path_params["chunk_id"], "chunk_id"), content=content).to_dict()
        )

    def symbols(request: Request) -> Response:
        names = request.query_params.getlist("name")
        if not names:
            raise UsageError("give the symbol as name=…", hint="e.g. /symbols/chunks?name=load_index")
        k = _int(request.query_params.get("k", 100), "k")
        content = _bool(request.query_params.get("content", "false"), "content")
        rows = searcher.query_by_symbols(names, k, content=content)
        return JSONResponse({"symbols": names, "chunks": [r.to_dict() for r in rows]})

    def modules(request: Request) -> Response:
        module = request.query_params.get("module")
        if not module:
            raise UsageError(
                "give the module as module=…", hint="e.g. /modules/chunks?module=python_ext.index"
            )
        limit = _int(request.query_params.get("limit", 100), "limit")
        content = _bool(request.query_params.get("content", "false"), "content")
        rows = searcher.query_by_module(module, limit, content=content)
        return JSONResponse({"module": module, "chunks": [r.to_dict() for r in rows]})

    def health(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", **searcher.health(), "reload_interval_s": reload_interval, **status}
        )

    def prometheus(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    def reload(request: Request) -> Response:
        switched = reload_now()
        return JSONResponse({"reloaded": switched, "version": searcher.state.version})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if reload_interval > 0:

            def loop() -> None:
                while not stop.wait(reload_interval):
                    try:
                        reload_now()
                    except IndexctlError:
                        pass  # recorded in /health and the failure counter; the old state serves on
                    except Exception as exc:  # never let the checker die silently
                        import logging

                        metrics.reload_failures.inc()
                        status["last_reload_error"] = f"unexpected {type(exc).__name__}: {exc}"
                        logging.getLogger("python_ext.serve").exception("reload failed")

            thread = threading.Thread(target=loop, name="codeintel-reload", daemon=True)
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=10)

    routes = [
        Route("/search", handler("/search", search), methods=["GET", "POST"]),
        Route("/chunks/{chunk_id}", handler("/chunks", chunk), methods=["GET"]),
        Route("/symbols/chunks", handler("/symbols/chunks", symbols), methods=["GET"]),
        Route("/modules/chunks", handler("/modules/chunks", modules), methods=["GET"]),
        Route("/health", handler("/health", health), methods=["GET"]),
        Route("/metrics", handler("/metrics", prometheus), methods=["GET"]),
        Route("/reload", handler("/reload", reload), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.searcher = searcher
    app.state.metrics = metrics
    return app

"""`runbooks serve`: a snapshot served as a read-only Kubernetes API over HTTP (tornado).

For a post-incident review with the tools people know::

    runbooks serve staging-incident --port 8080
    kubectl --server http://127.0.0.1:8080 get pods -A

For tests::

    from runbooks_lib.serve import serve_in_background, Fault
    with serve_in_background("staging-incident", faults=[Fault("throttle", path="/pods$", times=1)]) as url:
        ...  # url is http://127.0.0.1:<ephemeral port>

The API rules live in serve_api.py; this module only moves requests and responses
between tornado and it, applies injected faults (serve_faults.py) and runs servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Callable, Iterator

import tornado.httpserver
import tornado.netutil
import tornado.web

from .serve_api import APIError, Request, Response, SnapshotAPI
from .serve_faults import FAULTS_ENV, Fault, FaultPlan, faults_from_json
from .state import ClusterState

__all__ = ["BackgroundServer", "Fault", "FAULTS_ENV", "make_app", "serve_in_background", "is_loopback",
           "faults_from_env"]

log = logging.getLogger("runbooks.serve")


class _APIHandler(tornado.web.RequestHandler):
    """Every path, every method: faults first, then the snapshot API."""

    def initialize(self, api: SnapshotAPI, faults: FaultPlan, request_log: Callable[[str], None] | None) -> None:
        self.api, self.faults, self.request_log = api, faults, request_log

    def _request(self) -> Request:
        query = {key: [v.decode("utf-8", "replace") for v in values]
                 for key, values in self.request.query_arguments.items()}
        return Request(self.request.method or "GET", self.request.path, query,
                       self.request.headers.get("Accept", ""), self.request.host or "127.0.0.1")

    async def _serve(self) -> None:
        request = self._request()
        delay = self.faults.delay(request.path)
        if delay:
            await asyncio.sleep(delay)
        try:
            route = self.api.route(request)
            injected = self.faults.error_for(route, bool(request.param("continue")))
            response = injected.response() if injected else self.api.handle(request)
        except APIError as error:
            response = error.response()
        except Exception as exc:  # a bug here must not kill the server or leak a traceback to the client
            log.error("runbooks serve: internal error on %s %s: %s: %s (set RUNBOOKS_DEBUG=1 for details)",
                      request.method, request.path, type(exc).__name__, exc,
                      exc_info=bool(os.environ.get("RUNBOOKS_DEBUG")))
            response = APIError(500, "InternalError", f"Internal error occurred: {type(exc).__name__}: {exc}").response()
        self._send(response)

    def _send(self, response: Response) -> None:
        self.set_status(response.code)
        self.set_header("Content-Type", response.content_type)
        self.set_header("Cache-Control", "no-cache, private")
        for name, value in response.headers:
            self.add_header(name, value)
        self.finish(response.body)

    get = head = post = put = patch = delete = options = _serve

    def compute_etag(self) -> None:
        return None  # the API server sends no ETags; clients must not cache on them

    def log_exception(self, typ, value, tb) -> None:  # pragma: no cover - _serve catches everything
        log.error("runbooks serve: %s: %s", typ.__name__ if typ else "error", value)


def make_app(state: ClusterState, faults: list[Fault] | None = None,
             request_log: Callable[[str], None] | None = None) -> tornado.web.Application:
    """The tornado Application serving ``state``; ``app.snapshot_api`` and ``app.fault_plan`` for tests."""
    api = SnapshotAPI(state)
    plan = FaultPlan(faults)

    def log_request(handler: tornado.web.RequestHandler) -> None:
        if request_log:
            request_log(f"{handler.get_status()} {handler.request.method} {handler.request.uri} "
                        f"{1000 * handler.request.request_time():.1f}ms")

    app = tornado.web.Application([(r"/.*", _APIHandler, {"api": api, "faults": plan, "request_log": request_log})],
                                  log_function=log_request, compress_response=False)
    app.snapshot_api = api
    app.fault_plan = plan
    return app


def faults_from_env(environ: dict | None = None) -> list[Fault]:
    text = (environ if environ is not None else os.environ).get(FAULTS_ENV, "")
    return faults_from_json(text) if text.strip() else []


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for host:port (0: any free port); OSError when it cannot listen."""
    return tornado.netutil.bind_sockets(port, host)


def bound_url(sockets: list[socket.socket], host: str) -> str:
    port = sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class BackgroundServer:
    """A server on its own thread and event loop: start(), .url, stop()."""

    def __init__(self, state: ClusterState, faults: list[Fault] | None = None, host: str = "127.0.0.1",
                 port: int = 0, request_log: Callable[[str], None] | None = None):
        self.app = make_app(state, faults, request_log)
        self.host, self.port = host, port
        self.url: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def api(self) -> SnapshotAPI:
        return self.app.snapshot_api

    def expire_continue_tokens(self) -> None:
        """Make every continue token issued so far answer 410 Expired."""
        self.api.expire_continue_tokens()

    def start(self) -> str:
        sockets = bind(self.host, self.port)
        self.url = bound_url(sockets, self.host)
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                self._server = tornado.httpserver.HTTPServer(self.app)
                self._server.add_sockets(sockets)
            except BaseException as exc:  # pragma: no cover - surfaced to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._server.close_all_connections())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"runbooks-serve {self.url}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.url

    def stop(self) -> None:
        if not self._thread or not self._loop:
            return
        loop, server = self._loop, self._server

        def shutdown() -> None:
            if server:
                server.stop()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> "BackgroundServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def serve_in_background(state: ClusterState | str | Path, faults: list[Fault] | None = None,
                        host: str = "127.0.0.1", port: int = 0,
                        request_log: Callable[[str], None] | None = None) -> Iterator[str]:
    """Serve a state (or a source to load) on an ephemeral port; yields the base URL, stops on exit."""
    if not isinstance(state, ClusterState):
        from .sources import load

        state = load(state)
    server = BackgroundServer(state, faults, host, port, request_log)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


async def serve_forever(app: tornado.web.Application, sockets: list[socket.socket]) -> None:
    """Serve until SIGINT or SIGTERM: what the command line runs. Returns normally on either."""
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows' loop
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        server.stop()
        await server.close_all_connections()

"""The Docker-free local stack behind `arbiter serve`.

One process: moto's DynamoDB server (in memory) with the tables of template.yaml, an HTTP server that hands
every request to the in-process gateway (the template's routes and the real handlers, HTTP API payload 2.0),
the template's scheduled functions on a faster local clock, and its DynamoDB-stream functions fed from the embedded
DynamoDB's own stream (devstack/streams.py: the reporting aggregator, so analytics appear within about a second).
All state is in memory: it resets on restart.

    stack = LocalStack(port=0, dynamodb_port=0)
    url = stack.start()      # "http://127.0.0.1:<port>"
    ...
    stack.stop()             # and os.environ is as it was
"""

import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
import traceback
import urllib.request
import warnings
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from arbiter import aws
from arbiter.auth import keys
from arbiter.auth.models import CreatedApiKey
from arbiter.devstack.gateway import Gateway
from arbiter.devstack.scheduler import Scheduler
from arbiter.devstack.streams import StreamPoller
from arbiter.devstack.tables import create_tables, table_names
from arbiter.devstack.template import static_environment

log = logging.getLogger("arbiter.devstack")

HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_DYNAMODB_PORT = 8000
DEMO_TENANT = "demo"
# API Gateway refuses payloads over 10 MB; so does the local stack, before reading them.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
_TOO_LARGE = f"Request body exceeds {MAX_REQUEST_BYTES} bytes"
# Response headers the local server sets itself.
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection"}


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError as error:
        raise ValueError(f"{name} must be a port number, got {raw!r}") from error
    if not 0 <= port <= 65535:
        raise ValueError(f"{name} must be between 0 and 65535, got {raw!r}")
    return port


class _EnvironmentPatch:
    """Sets variables and remembers what they were, so stop() leaves os.environ as start() found it."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def remember(self, *names: str) -> None:
        for name in names:
            self._saved.setdefault(name, os.environ.get(name))

    def set(self, name: str, value: str) -> None:
        self.remember(name)
        os.environ[name] = value

    def set_default(self, name: str, value: str) -> None:
        if not os.environ.get(name):
            self.set(name, value)

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    """Turns one HTTP request into a Gateway.request() and writes its status, headers and body back."""

    protocol_version = "HTTP/1.1"
    server_version = "ArbiterLocal/0.1"
    stack: "LocalStack"  # set on the per-stack subclass

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def do_OPTIONS(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def __getattr__(self, name: str):
        # Any other method (TRACE, QUERY, ...) goes through the gateway too, which answers 404 JSON for a route no
        # function serves, as API Gateway does, instead of http.server's HTML 501.
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._forward
        raise AttributeError(name)

    def _forward(self) -> None:
        started = time.perf_counter()
        try:
            body = self._read_body()
        except _BodyRefused as refused:
            self.close_connection = True
            self._write(refused.status, {"content-type": "application/json"}, json.dumps({"detail": refused.detail}))
            return
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            # HTTP API joins repeated headers with commas.
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        function = None
        try:
            with self.stack.invocation_lock:
                response = self.stack.gateway.request(
                    self.command, self.path, headers=headers, body=body or None, source_ip=self.client_address[0]
                )
            status, response_headers, response_body, function = (
                response.status,
                response.headers,
                response.body,
                response.function,
            )
        except Exception:
            # What API Gateway answers when the function itself crashes: a bug, printed in full locally.
            traceback.print_exc()
            status, response_headers = 500, {"content-type": "application/json"}
            response_body = json.dumps({"detail": "Internal server error"})
        self._write(status, response_headers, response_body)
        if not self.stack.quiet:
            elapsed_ms = (time.perf_counter() - started) * 1000
            served_by = function or "no route"
            sys.stderr.write(f"{self.command} {self.path} -> {status} ({served_by}, {elapsed_ms:.0f} ms)\n")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if not raw_length:
            return b""
        try:
            length = int(raw_length)
        except ValueError:
            raise _BodyRefused(HTTPStatus.BAD_REQUEST, "Invalid Content-Length header") from None
        if length < 0:
            raise _BodyRefused(HTTPStatus.BAD_REQUEST, "Invalid Content-Length header")
        if length > MAX_REQUEST_BYTES:
            raise _BodyRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _TOO_LARGE)
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _BodyRefused(HTTPStatus.BAD_REQUEST, "Malformed chunked body") from None
            if size == 0:
                # Trailer section ends with an empty line.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise _BodyRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _TOO_LARGE)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _write(self, status: int, headers: dict[str, str], body: str) -> None:
        payload = body.encode("utf-8") if body else b""
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        # 204 carries neither a body nor a Content-Length (RFC 9110 8.6).
        if status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if payload and status != HTTPStatus.NO_CONTENT and self.command != "HEAD":
            self.wfile.write(payload)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """The access line is written by _forward (with the function name and timing)."""

    def log_message(self, format: str, *args: Any) -> None:
        if not self.stack.quiet:
            super().log_message(format, *args)


class _BodyRefused(Exception):
    def __init__(self, status: HTTPStatus, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class LocalStack:
    """moto DynamoDB + the template's API and schedules in one process; start() returns the API's URL."""

    def __init__(
        self,
        port: int | None = None,
        dynamodb_port: int | None = None,
        *,
        host: str = HOST,
        quiet: bool = False,
        schedule_speedup: float | None = None,
    ):
        self.host = host
        self.requested_port = port if port is not None else _env_port("PORT", DEFAULT_PORT)
        self.requested_dynamodb_port = (
            dynamodb_port if dynamodb_port is not None else _env_port("DYNAMODB_PORT", DEFAULT_DYNAMODB_PORT)
        )
        self.quiet = quiet
        self.schedule_speedup = schedule_speedup
        # Each Lambda instance handles one invocation at a time, and the handlers here share one process
        # (and Powertools' module-level logger/metrics), so invocations are serialized.
        self.invocation_lock = threading.Lock()
        self.gateway = Gateway()
        self.api_url: str | None = None
        self.dynamodb_endpoint: str | None = None
        self.demo_key: CreatedApiKey | None = None
        self.tables: dict[str, str] = {}
        self._env = _EnvironmentPatch()
        self._moto = None
        self._httpd: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._scheduler: Scheduler | None = None
        self._streams: StreamPoller | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> str:
        try:
            self._start_dynamodb()
            self._configure_environment()
            self.tables = create_tables(aws.dynamodb_client())
            aws.reset_clients()  # settings re-read with the table names just exported
            self.demo_key = keys.create_key(DEMO_TENANT)
            self._start_http()
            self._scheduler = Scheduler(
                speedup=self.schedule_speedup,
                region=os.environ["AWS_REGION"],
                invocation_lock=self.invocation_lock,
            )
            self._scheduler.start()
            # Tables are named by their logical ids locally; iterators open now (StartingPosition LATEST).
            self._streams = StreamPoller({}, invocation_lock=self.invocation_lock)
            self._streams.start()
        except BaseException:
            self.stop()
            raise
        return self.api_url

    def stop(self) -> None:
        if self._streams:
            self._streams.stop()
            self._streams = None
        if self._scheduler:
            self._scheduler.stop()
            self._scheduler = None
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._http_thread:
            self._http_thread.join(timeout=10)
            self._http_thread = None
        if self._moto:
            self._reset_moto()  # moto's backends are process-global: leave nothing behind for later users
            self._moto.stop()
            self._moto = None
            from arbiter.devstack import moto_transactions

            moto_transactions.uninstall()
        self._env.restore()
        aws.reset_clients()
        keys.forget_verified_keys()

    def serve_forever(self) -> None:
        """Start, print the banner, and block until Ctrl-C (or SIGTERM, mapped to it by the CLI)."""
        self.start()
        print(self.banner(), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nStopping the local stack (its data is discarded).", flush=True)
        finally:
            self.stop()

    def __enter__(self) -> "LocalStack":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- pieces --------------------------------------------------------------------------------------------

    def _start_dynamodb(self) -> None:
        from moto.server import ThreadedMotoServer  # dev dependency: imported only when a stack starts

        from arbiter.devstack import moto_transactions

        port = self.requested_dynamodb_port
        if port and not _port_is_free(self.host, port):
            log.warning("port %s is busy; DynamoDB takes a free port instead", port)
            port = 0
        # Werkzeug logs every DynamoDB call at INFO; the API access line is enough.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Transactions in O(their items), not O(table size) per item (devstack/moto_transactions.py).
        moto_transactions.install()
        self._moto = ThreadedMotoServer(ip_address=self.host, port=port, verbose=False)
        self._moto.start()
        host, bound_port = self._moto.get_host_and_port()
        self.dynamodb_endpoint = f"http://{host}:{bound_port}"
        self._reset_moto()

    def _reset_moto(self) -> None:
        request = urllib.request.Request(f"{self.dynamodb_endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def _configure_environment(self) -> None:
        env = self._env
        env.remember(*table_names().keys())  # create_tables exports these; stop() puts them back
        env.set("DYNAMODB_ENDPOINT_URL", self.dynamodb_endpoint)
        if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
            # moto accepts any credentials; boto3 only needs some to sign with.
            env.set("AWS_ACCESS_KEY_ID", "local")
            env.set("AWS_SECRET_ACCESS_KEY", "local")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        env.set_default("AWS_REGION", region)
        env.set_default("AWS_DEFAULT_REGION", region)
        # The template's static Lambda environment (service name, metrics namespace), then local-only choices.
        for name, value in static_environment().items():
            env.set_default(name, value)
        env.set_default("POWERTOOLS_TRACE_DISABLED", "1")  # no X-Ray daemon locally
        env.set_default("POWERTOOLS_LOG_LEVEL", "WARNING")
        # In AWS the template passes a secret parameter; locally a fresh random one per start is enough.
        env.set_default("IMPRESSION_TOKEN_SECRET", secrets.token_urlsafe(32))
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        aws.reset_clients()

    def _start_http(self) -> None:
        handler = type("LocalGatewayHandler", (_GatewayRequestHandler,), {"stack": self})
        self._httpd = ThreadingHTTPServer((self.host, self.requested_port), handler)
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        self.api_url = f"http://{host}:{port}"
        self._http_thread = threading.Thread(target=self._httpd.serve_forever, name="local-api", daemon=True)
        self._http_thread.start()

    # -- output --------------------------------------------------------------------------------------------

    def banner(self) -> str:
        key = self.demo_key
        scheduled = self._scheduler.schedules if self._scheduler else {}
        lines = [
            "Arbiter local stack is running (all data is in memory and is lost when it stops).",
            "",
            f"  API          {self.api_url}",
            f"  Swagger UI   {self.api_url}/docs",
            f"  OpenAPI      {self.api_url}/openapi.json",
            f"  DynamoDB     {self.dynamodb_endpoint}  (moto, in memory)",
            f"  Demo key     {key.api_key}",
            f"               tenant {key.tenant_id!r}, scopes: {', '.join(scope.value for scope in key.scopes)}",
        ]
        for logical_id, schedule in scheduled.items():
            every = f"locally every {schedule.local_seconds:g} s"
            lines.append(f"  Schedule     {logical_id}: {schedule.expression}, {every}")
        for feed in self._streams.feeds if self._streams else []:
            every = f"polled every {self._streams.interval:g} s"
            lines.append(f"  Stream       {feed.function.logical_id}: {feed.function.table_logical_id} stream, {every}")
        lines += [
            "",
            "In another shell:",
            f"  export ARBITER_API_KEY={key.api_key}",
            f"  export DYNAMODB_ENDPOINT_URL={self.dynamodb_endpoint}   # `arbiter keys ...` then uses this stack",
            f"  curl -X POST {self.api_url}/api/ads/register \\",
            '    -H "Authorization: Bearer $ARBITER_API_KEY" -H "Content-Type: application/json" \\',
            """    -d '{"company_name": "Acme Corp", "contact_email": "ads@acme.com"}'""",
            "",
            "Press Ctrl-C to stop.",
        ]
        return "\n".join(lines)

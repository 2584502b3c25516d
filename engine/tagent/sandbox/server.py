"""The HTTP/1.1 server: keep-alive, Content-Length on every plain answer, chunked watch and log streams."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.router import Api
from tagent.sandbox.web import Request, error_response

log = logging.getLogger("tagent.sandbox.http")


class SandboxHTTPServer(ThreadingHTTPServer):
    """HTTP and HTTPS on one port: a connection that opens with a TLS handshake record is wrapped."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api, tls: ssl.SSLContext | None = None) -> None:
        self.api, self.tls = api, tls
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        conn: socket.socket = request
        try:
            if self.tls is not None and request.recv(1, socket.MSG_PEEK) == b"\x16":
                conn = self.tls.wrap_socket(request, server_side=True)
            with self._open_lock:
                self._open.add(conn)
            Handler(conn, client_address, self)
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
            log.debug("connection from %s dropped: %s", client_address, exc)
        finally:
            with self._open_lock:
                self._open.discard(conn)
            if conn is not request:
                conn.close()

    def close_connections(self) -> None:
        """Cut every open connection (keep-alive ones included): a stopped cluster must look unreachable."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600  # seconds an idle keep-alive connection may wait for its next request
    server: SandboxHTTPServer

    def _client_gone(self) -> bool:
        """True when the client closed the connection while it waits for a stream.

        A client waiting for a watch or a log stream sends nothing (HTTP/1.1 clients do not pipeline), so
        a readable socket means a FIN or a TLS close_notify: the client has left.
        """
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()  # always, or keep-alive connections desynchronise
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, unquote(url.path), query, headers, body, self._client_gone)
        try:
            resp = self.server.api.handle(req)
        except Exception:  # the client gets a 500 Status; the bug is logged with its traceback
            log.exception("sandbox API failed on %s %s", self.command, self.path)
            resp = error_response(ApiError(500, "internal error in the sandbox API server"))
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.stream is None:
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in resp.stream:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            close = getattr(resp.stream, "close", None)
            if close is not None:
                close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

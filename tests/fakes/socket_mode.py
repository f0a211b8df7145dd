"""A local Socket Mode endpoint: the WebSocket side of Slack's Socket Mode, on 127.0.0.1.

`FakeSlack.socket_url` points `apps.connections.open` here, so slack_sdk's own Socket Mode
client (the one `serve` uses) connects to it as to Slack: the WebSocket handshake (RFC 6455),
a `hello`, pongs for its pings, envelopes sent to it and the acks it sends back. `drop()`
closes every connection (a close frame, as Slack sends); with `refusing` set, handshakes are
answered 503, as an unreachable Socket Mode service would. (slack_sdk's own test server needs
aiohttp; this one is the standard library.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import socketserver
import struct
import threading
import time
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
HELLO = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0SSM3APP"}}


def frame(opcode: int, payload: bytes) -> bytes:
    """A server frame: final, unmasked."""
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        return head + bytes([len(payload)]) + payload
    if len(payload) < 1 << 16:
        return head + bytes([126]) + struct.pack("!H", len(payload)) + payload
    return head + bytes([127]) + struct.pack("!Q", len(payload)) + payload


def read_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_frame(conn: socket.socket) -> tuple[int, bytes]:
    first, second = read_exactly(conn, 2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", read_exactly(conn, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", read_exactly(conn, 8))
    mask = read_exactly(conn, 4) if second & 0x80 else b"\0\0\0\0"
    data = read_exactly(conn, length)
    return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class FakeSocketMode:
    """Start with `with FakeSocketMode() as sm:`; give `sm.url` to FakeSlack.socket_url."""

    def __init__(self) -> None:
        self.connections: list[socket.socket] = []
        self.received: list[dict[str, Any]] = []  # the acks and responses the client sent
        self.handshakes = 0
        self.refusing = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"wss://{host}:{port}/link/?ticket=fake"

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(1024)
            if not chunk:
                return
            request += chunk
        headers = dict(
            line.split(": ", 1) for line in request.decode().split("\r\n")[1:] if ": " in line
        )
        if self.refusing:
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        key = headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()  # noqa: S324
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        with self._changed:
            self.connections.append(conn)
            self.handshakes += 1
            self._changed.notify_all()
        self.send(HELLO, conn)
        try:
            while True:
                opcode, data = read_frame(conn)
                if opcode == PING:
                    with self._lock:
                        conn.sendall(frame(PONG, data))
                elif opcode == TEXT:
                    with self._changed:
                        self.received.append(json.loads(data))
                        self._changed.notify_all()
                elif opcode == CLOSE:
                    with self._lock:
                        conn.sendall(frame(CLOSE, data[:2]))
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            with self._changed:
                if conn in self.connections:
                    self.connections.remove(conn)
                self._changed.notify_all()
            conn.close()

    def send(self, message: dict[str, Any], conn: socket.socket | None = None) -> None:
        """A text frame to one connection (the latest when None)."""
        with self._lock:
            target = conn or (self.connections[-1] if self.connections else None)
            if target is None:
                raise AssertionError("no Socket Mode client is connected")
            target.sendall(frame(TEXT, json.dumps(message).encode()))

    def drop(self) -> None:
        """Close every connection from this side (a close frame, then the socket)."""
        with self._lock:
            for conn in self.connections:
                try:
                    conn.sendall(frame(CLOSE, struct.pack("!H", 1001)))
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("timed out waiting for the Socket Mode client")
                self._changed.wait(remaining)

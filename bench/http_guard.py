"""What one unsigned 64 MiB POST to /slack/events costs the process in HTTP mode.

The app is the real `ssm3bot serve` in its own process (HTTP mode, waitress, the guard of
bot/slack/guard.py), talking to the fake Slack Web API and the simulator in this process.
After a warm-up (a signed /ssm3 help), the bench sends one unsigned POST of `--mebibytes`
(64 MiB) to /slack/events, first with a Content-Length, then chunked, each on its own
connection and sent whole unless the server answers first, and reads the server's peak
resident memory (VmHWM in /proc/PID/status) before and after each. `--unguarded` runs the
wiring main had before the guard instead (Bolt's own WSGI adapter behind waitress with its
1 GiB default body limit), for comparison.

    .venv/bin/python bench/http_guard.py [--mebibytes 64] [--unguarded]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ack_latency import free_port, wait_healthy

from bot.sim.fleet import generate_fleet
from bot.sim.server import SimServer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SIGNING_SECRET, SignedRequests
from tests.support.sim import Sim

UNGUARDED = """
import sys
from waitress import serve
from slack_bolt.adapter.wsgi import SlackRequestHandler
from bot.settings.config import Settings
from bot.slack.app import build_app
from bot.slack.services import Services
services = Services.from_settings(Settings.from_env(dotenv=None))
app = build_app(services)
serve(SlackRequestHandler(app), host="127.0.0.1", port=int(sys.argv[1]), threads=4)
"""


def peak_kib(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc: this bench needs Linux")


def post(port: int, size: int, *, chunked: bool) -> tuple[str, int, float]:
    """One unsigned POST of `size` bytes; the status line, the bytes sent, the seconds taken."""
    piece = b"x" * 65536
    started = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = 0
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sock.sendall(
        f"POST /slack/events HTTP/1.1\r\nHost: bot\r\n{framing}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
    )

    def send() -> None:
        nonlocal sent
        try:
            while sent < size:
                sock.sendall(b"10000\r\n" + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # answered and closed before the body was all sent

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        data = f"({exc})\r\n".encode()
    elapsed = time.perf_counter() - started
    sock.close()
    sender.join(timeout=30)
    return data.split(b"\r\n", 1)[0].decode(), sent, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mebibytes", type=int, default=64)
    parser.add_argument("--unguarded", action="store_true")
    args = parser.parse_args()
    size = args.mebibytes * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="ssm3-guard-bench-") as scratch, FakeSlack() as fake:
        server = SimServer(generate_fleet(seed=11, accounts=2)).start()
        sim = Sim(server.fleet, server)
        port = free_port()
        env = sim.env(
            SLACK_BOT_TOKEN=fake.token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SSM3_SLACK_API_URL=fake.api_url,
            SSM3_DB_PATH=str(Path(scratch) / "bench.db"),
            SSM3_HTTP_PORT=str(port),
            SSM3_SWEEP_SCHEDULE="0 0 1 1 *",
            SSM3_SECURITYHUB="off",
        )
        command = (
            [sys.executable, "-c", UNGUARDED, str(port)]
            if args.unguarded
            else [str(Path(sys.executable).with_name("ssm3bot")), "serve"]
        )
        wiring = "unguarded (Bolt's adapter, waitress defaults)" if args.unguarded else "guarded"
        print(f"ssm3bot serve, HTTP mode, {wiring}; one unsigned {args.mebibytes} MiB POST")
        print("| request | answer | body bytes sent | peak RSS before | after | growth | time |")
        print("|---|---|---:|---:|---:|---:|---:|")
        try:
            for chunked in (False, True):  # each in a fresh process: a peak is a peak
                child = start(command, env, scratch, port, fake, unguarded=args.unguarded)
                try:
                    before = peak_kib(child.pid)
                    status, sent, elapsed = post(port, size, chunked=chunked)
                    after = peak_kib(child.pid)
                finally:
                    child.terminate()
                    child.wait(timeout=30)
                kind = "chunked" if chunked else "Content-Length"
                print(
                    f"| {kind} | {status.removeprefix('HTTP/1.1 ')} | {sent / 2**20:.1f} MiB | "
                    f"{before / 1024:.1f} MiB | {after / 1024:.1f} MiB | "
                    f"{(after - before) / 1024:.1f} MiB | {elapsed:.2f} s |"
                )
        finally:
            server.stop()
    return 0


def start(
    command: list[str],
    env: dict[str, str],
    scratch: str,
    port: int,
    fake: FakeSlack,
    *,
    unguarded: bool,
) -> subprocess.Popen[bytes]:
    """The server, up and warmed by one signed /ssm3 help."""
    root = str(Path(__file__).resolve().parents[1])
    child = subprocess.Popen(
        command,
        env={"PATH": "/usr/bin:/bin", "HOME": scratch, "PYTHONPATH": root, **env},
        cwd=scratch,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if unguarded:
        wait_listening(port)
    else:
        wait_healthy(port)
    assert SignedRequests(port, fake).command("help").status == 200
    return child


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    raise SystemExit(main())

"""`python -m bot.sim`: serve a simulated fleet on loopback until interrupted.

It prints the `export` lines that point boto3 (and `ssm3bot`) at it. With `--control` it
prints one JSON line instead (endpoint and credentials) and then answers commands on stdin,
one a line, so a benchmark can run the simulator in its own process and still read its
call counts: `counts` (calls by service:operation since the last reset, as one JSON line),
`reset`, `quit`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from bot.sim.fleet import Fleet, Latency, generate_fleet
from bot.sim.server import SimServer


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535; 0: any free one)")
    return port


def _range(value: str) -> tuple[int, int]:
    """`LOW-HIGH`, `LOW,HIGH` or one number (both ends): an inclusive range."""
    low, _, high = value.replace(",", "-").partition("-")
    try:
        bounds = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a range (LOW-HIGH or LOW,HIGH)"
        ) from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"{value!r}: want 0 <= LOW <= HIGH")
    return bounds


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number} is negative")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sim", description=__doc__)
    parser.add_argument("--port", type=_port, default=4566, help="0: any free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--accounts", type=int, default=3, help="how many accounts (the first is the caller's)"
    )
    parser.add_argument("--regions", default="eu-west-1,us-east-1")
    parser.add_argument(
        "--associations", type=int, default=12, help="associations per account-region"
    )
    parser.add_argument(
        "--failing", type=int, default=3, help="failing associations per account-region"
    )
    parser.add_argument(
        "--failing-every",
        type=int,
        default=1,
        help="only every N-th account-region has failing associations (the rest are clean)",
    )
    parser.add_argument("--instances", type=int, default=40, help="instances per account-region")
    parser.add_argument(
        "--failed-instances",
        type=_range,
        default=(1, 5),
        metavar="LOW-HIGH",
        help="failed instances of each failing association (inclusive range)",
    )
    parser.add_argument(
        "--manual",
        type=_count,
        default=0,
        help="MANUAL-sync patch-scanning associations per account-region (every run succeeds)",
    )
    parser.add_argument(
        "--manual-noncompliant",
        type=_range,
        default=(1, 3),
        metavar="LOW,HIGH",
        help="instances each MANUAL association reports NON_COMPLIANT (inclusive range)",
    )
    parser.add_argument(
        "--patch-noise",
        action="store_true",
        help="NON_COMPLIANT Patch and COMPLIANT Custom items on a few instances (never SSM.3's)",
    )
    parser.add_argument(
        "--timed-out",
        type=_count,
        default=0,
        help="associations per account-region whose latest run timed out on 1-2 instances",
    )
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every AWS call")
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="skip checking each response against botocore's output shapes (benchmarks)",
    )
    parser.add_argument(
        "--control", action="store_true", help="print JSON, then take commands on stdin"
    )
    parser.add_argument("--deny", default="", help="comma list of account IDs that deny AssumeRole")
    args = parser.parse_args(argv)
    fleet = generate_fleet(
        seed=args.seed,
        accounts=args.accounts,
        regions=tuple(r for r in args.regions.split(",") if r),
        associations=args.associations,
        failing=args.failing,
        failing_every=max(1, args.failing_every),
        instances=args.instances,
        failed_instances=args.failed_instances,
        manual=args.manual,
        manual_noncompliant=args.manual_noncompliant,
        patch_noise=args.patch_noise,
        timed_out=args.timed_out,
        deny_accounts=[a for a in args.deny.split(",") if a],
    )
    if args.latency_ms:
        fleet.add_latency(Latency(args.latency_ms / 1000))
    try:
        server = SimServer(fleet, port=args.port, validate=not args.no_validate).start()
    except OSError as exc:  # the port is taken, most likely by another simulator
        print(
            f"python -m bot.sim: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}; "
            "choose another with --port (0: any free one)",
            file=sys.stderr,
        )
        return 2
    try:
        if args.control:
            _serve_commands(fleet, server)
        else:
            _print_exports(fleet, server, args.regions.split(",")[0])
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _print_exports(fleet: Fleet, server: SimServer, region: str) -> None:
    credentials = fleet.caller_credentials
    print(f"# simulated SSM/STS/Organizations on {server.endpoint_url} (Ctrl-C to stop)")
    print(f"export AWS_ENDPOINT_URL={server.endpoint_url}")
    print(f"export AWS_ACCESS_KEY_ID={credentials.access_key_id}")
    print(f"export AWS_SECRET_ACCESS_KEY={credentials.secret_access_key}")
    print(f"export AWS_DEFAULT_REGION={region}")
    print(f"# accounts: {', '.join(fleet.accounts)}")
    sys.stdout.flush()


def _serve_commands(fleet: Fleet, server: SimServer) -> None:
    credentials = fleet.caller_credentials
    _reply(
        {
            "endpoint_url": server.endpoint_url,
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key,
            "accounts": list(fleet.accounts),
        }
    )
    for line in sys.stdin:
        command = line.strip()
        if command == "counts":
            with fleet.lock:
                counts: dict[str, int] = {}
                for call, n in fleet.calls.items():
                    name = f"{call.service}:{call.operation}"
                    counts[name] = counts.get(name, 0) + n
            _reply({"counts": counts, "violations": len(fleet.violations)})
        elif command == "reset":
            fleet.reset_calls()
            _reply({"ok": True})
        elif command == "quit":
            return
        else:
            _reply({"error": f"unknown command {command!r}"})


def _reply(document: object) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())

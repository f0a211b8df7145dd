"""`python -m bot.sim`: serve a simulated fleet on loopback until interrupted.

It prints the `export` lines that point boto3 (and `ssm3bot`) at it.
"""

from __future__ import annotations

import argparse
import sys
import threading

from bot.sim.fleet import generate_fleet
from bot.sim.server import SimServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sim", description=__doc__)
    parser.add_argument("--port", type=int, default=4566)
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
    parser.add_argument("--deny", default="", help="comma list of account IDs that deny AssumeRole")
    args = parser.parse_args(argv)
    fleet = generate_fleet(
        seed=args.seed,
        accounts=args.accounts,
        regions=tuple(r for r in args.regions.split(",") if r),
        associations=args.associations,
        failing=args.failing,
        deny_accounts=[a for a in args.deny.split(",") if a],
    )
    server = SimServer(fleet, port=args.port).start()
    credentials = fleet.caller_credentials
    print(f"# simulated SSM/STS/Organizations on {server.endpoint_url} (Ctrl-C to stop)")
    print(f"export AWS_ENDPOINT_URL={server.endpoint_url}")
    print(f"export AWS_ACCESS_KEY_ID={credentials.access_key_id}")
    print(f"export AWS_SECRET_ACCESS_KEY={credentials.secret_access_key}")
    print(f"export AWS_DEFAULT_REGION={args.regions.split(',')[0]}")
    print(f"# accounts: {', '.join(fleet.accounts)}")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m benchmarks``: the HTTP, cost, ORM and WebSocket benchmarks in one run.

Prints each table as it is measured, then every goal with PASS or MISS. The
exit status is 0 whatever the figures (timing is never a failure); it is 1
only when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version


def _versions() -> str:
    names = ["django", "channels", "graphql-core", "strawberry-graphql", "strawberry-graphql-django", "uvicorn",
             "websockets", "channels-redis"]
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(parts)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _client_loop_policy() -> str:
    """uvloop for the WebSocket clients when installed: it keeps the client cheap."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short rounds, fewer messages, no Redis (about 1 minute)")
    parser.add_argument("--only", choices=["http", "batching", "overhead", "inprocess", "observability", "wrk", "orm",
                                           "ws", "defer", "live"],
                        help="run one part only")
    parser.add_argument("--redis", dest="redis", action="store_true", default=None,
                        help="also run the WebSocket fan-out on the Redis pub/sub layer (default: when "
                             "redis-server is on PATH, except with --quick)")
    parser.add_argument("--no-redis", dest="redis", action="store_false")
    parser.add_argument("--sizes", default="500", help="subscriber counts for the fan-out (default 500)")
    parser.add_argument("--profile", metavar="DIR",
                        help="cProfile each WebSocket server during its burst; .prof files go to DIR "
                             "(figures are slower while profiling)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    print(f"django-gql-channels benchmarks: Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}, load average {_load()}\n{_versions()}\n", flush=True)

    from . import (
        http_bench,
        inprocess_fanout,
        live_bench,
        observability_bench,
        orm_bench,
        overhead_bench,
        wrk_bench,
        ws_fanout,
    )

    started = time.monotonic()
    goals: list[tuple[str, bool]] = []
    if args.only in (None, "http"):
        _, http_goals = asyncio.run(http_bench.run(quick=args.quick))
        goals += http_goals
    if args.only in (None, "batching"):
        from . import batching_bench

        goals += asyncio.run(batching_bench.run(quick=args.quick))[1]
    if args.only in (None, "overhead"):
        goals += asyncio.run(overhead_bench.run(quick=args.quick))[1]
    if args.only in (None, "inprocess"):
        goals += asyncio.run(inprocess_fanout.run(quick=args.quick))[1]
        from . import inprocess_limits  # the limits on/off pair (docs/benchmarks.rst)

        goals += asyncio.run(inprocess_limits.run(quick=args.quick))[1]
    if args.only in (None, "observability"):  # METRICS and TRACING on against off (docs/observing.rst)
        goals += asyncio.run(observability_bench.run(quick=args.quick))[1]
    if args.only in (None, "wrk"):
        goals += asyncio.run(wrk_bench.run(quick=args.quick))[1]
    if args.only in (None, "orm"):
        goals += asyncio.run(orm_bench.run(quick=args.quick))[1]
    if args.only in (None, "defer"):
        from django_gql_channels.engine import INCREMENTAL_AVAILABLE

        if INCREMENTAL_AVAILABLE:
            from . import defer_bench

            goals += asyncio.run(defer_bench.run(quick=args.quick))[1]
        else:
            print("@defer: skipped (graphql-core 3.3 is needed)\n")
    if args.only in (None, "live"):
        goals += asyncio.run(live_bench.run(quick=args.quick))[1]
    if args.only in (None, "ws"):
        sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
        print(f"WebSocket clients on {_client_loop_policy()} in this process; servers: uvicorn subprocesses.\n")
        _, ws_goals = asyncio.run(ws_fanout.run(quick=args.quick, redis=args.redis, sizes=sizes,
                                                     profile_dir=args.profile))
        goals += ws_goals
    print("Goals")
    for text, _ in goals:
        print(f"  {text}")
    passed = sum(1 for _, ok in goals if ok)
    print(f"{passed}/{len(goals)} goals met; {time.monotonic() - started:.0f} s in all; "
          f"load average now {_load()}.", flush=True)
    if os.getloadavg()[0] > (os.cpu_count() or 1) * 0.75:
        print("The machine was busy with other work: rates are lower and noisier than on an idle one; "
              "the CPU-per-request/delivery columns are less affected.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

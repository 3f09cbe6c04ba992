"""Which way to hold PostgreSQL connections: a pool, persistent ones, or none?

Starts three `make serve` servers at once on one database (PostgreSQL + Redis),
one per setting, and measures the pages that query with wrk, alternating
servers and targets round by round so noise on this shared machine spreads
evenly:

  pool         DATABASE_POOL=true: psycopg_pool, DATABASE_POOL_SIZE per process
  persistent   DATABASE_POOL=false, CONN_MAX_AGE=60 (one connection per thread)
  none         DATABASE_POOL=false, CONN_MAX_AGE=0 (connect on every request)

LIVE_PAGE_CACHE_SECONDS=0 turns off the per-revision rendering cache, so every
story page and every changed poll runs its queries (an idle poll runs none and
is not measured here).

    .venv/bin/python bench/db_connections.py [--seconds 3] [--rounds 2]
"""

import argparse
import contextlib
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402
from bench.poll import SLUG, UPDATES, seed_story, wrk  # noqa: E402

PORT = 8141
SETTINGS = {
    "pool": {"DATABASE_POOL": "true"},
    "persistent": {"DATABASE_POOL": "false", "CONN_MAX_AGE": "60"},
    "none": {"DATABASE_POOL": "false", "CONN_MAX_AGE": "0"},
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=PORT, help="first of three ports")
    parser.add_argument("--database", default="liveblog_bench_db", help="dropped and created")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    env = harness.production_env(
        harness.fresh_database(args.database),
        args.port,
        ACCESS_LOG="0",
        LIVE_PAGE_CACHE_SECONDS="0",
    )
    harness.use_django(env)
    harness.migrate()
    revision = seed_story()
    harness.flush_redis()
    targets = {
        "story page": f"/{SLUG}/",
        "poll, 1 new": f"/{SLUG}/updates/?since={revision - 1}",
    }
    print(
        f"wrk -t1 -c{args.connections}, {args.seconds}s x {args.rounds} rounds, "
        f"story of {UPDATES} updates, no rendering cache, PostgreSQL + Redis"
    )
    runs = {(name, target): [] for name in SETTINGS for target in targets}
    with contextlib.ExitStack() as stack:
        bases = {}
        for offset, (name, extra) in enumerate(SETTINGS.items()):
            server_env = {**env, "PORT": str(args.port + offset), **extra}
            bases[name] = stack.enter_context(harness.running_server(server_env))
        for _ in range(args.rounds):
            for target, path in targets.items():
                for name, base in bases.items():
                    runs[name, target].append(wrk(base + path, args.seconds, args.connections))

    print(f"\n{'connections':<12}" + "".join(f" {t + ' req/s':>18} {'p99 ms':>7}" for t in targets))
    for name in SETTINGS:
        cells = ""
        for target in targets:
            rps = statistics.median(r["rps"] for r in runs[name, target])
            p99 = statistics.median(r["p99"] for r in runs[name, target])
            cells += f" {rps:18.0f} {p99:7.1f}"
        print(f"{name:<12}{cells}")


if __name__ == "__main__":
    main()

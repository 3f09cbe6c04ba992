"""How much does a reader's poll cost, next to the cheapest things the server does?

Starts the production server (`make serve`, PostgreSQL + Redis) with a story of
2,000 updates and measures with wrk, alternating targets round by round so that
noise on this shared machine spreads evenly:

  static      a WhiteNoise-served CSS file (the floor of the whole stack)
  healthz     /healthz, a Django view with no database (the framework floor)
  poll-204    a poll when nothing is new (cache only)
  poll-1-new  a poll that returns one new update
  story-page  the full story page (newest 50 of 2,000 updates)

Prints requests/s and p50/p99 latency, and each target's throughput as a ratio
to static and to healthz. `--compare-servers` runs the poll targets on each
candidate server instead. wrk shares the machine's cores with the server.

    .venv/bin/python bench/poll.py [--seconds 5] [--rounds 3] [--compare-servers]
"""

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402

PORT = 8131
SLUG = "bench-story"
UPDATES = 2000
WORKERS = str(os.cpu_count() * 2 + 1)

VENV_BIN = harness.ROOT / ".venv" / "bin"
SERVERS = {
    "make serve (gunicorn gthread)": None,
    "gunicorn sync": [
        str(VENV_BIN / "gunicorn"),
        "liveblog.wsgi",
        "--bind",
        f"127.0.0.1:{PORT}",
        "--workers",
        WORKERS,
        "--worker-class",
        "sync",
    ],
    "granian wsgi": [
        str(VENV_BIN / "granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(PORT),
        "--workers",
        str(os.cpu_count()),
        "--blocking-threads",
        "4",
        "--no-ws",
        "liveblog.wsgi:application",
    ],
    "uvicorn asgi": [
        str(VENV_BIN / "uvicorn"),
        "liveblog.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(PORT),
        "--workers",
        WORKERS,
        "--no-access-log",
        "--log-level",
        "warning",
    ],
}


def seed_story() -> int:
    """A live story with 2,000 updates; returns its revision."""
    from django.utils import timezone

    from coverage.models import Story, Update

    story = Story.objects.create(slug=SLUG, title="Benchmark story", status=Story.Status.LIVE)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    Update.objects.bulk_create(
        Update(
            story=story,
            body=f"<p>Update number {n}, with a sentence or two of text like a real one.</p>",
            published_at=start + dt.timedelta(seconds=30 * n),
            revision=n + 1,
            version=1,
        )
        for n in range(UPDATES)
    )
    Story.objects.filter(pk=story.pk).update(revision=UPDATES + 1)
    return UPDATES + 1


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {
        p: float(v) * UNIT[u]
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    return {"rps": rps, "p50": latency["50"], "p99": latency["99"]}


def measure(base: str, targets: dict[str, str], rounds: int, seconds: int, connections: int):
    results = {name: [] for name in targets}
    for _ in range(rounds):
        for name, path in targets.items():
            results[name].append(wrk(base + path, seconds, connections))
    return {
        name: {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")}
        for name, runs in results.items()
    }


def report(title: str, summary: dict) -> None:
    print(f"\n{title}")
    print(
        f"{'target':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x static':>9} {'x healthz':>10}"
    )
    static = summary.get("static", {}).get("rps")
    floor = summary["healthz"]["rps"]
    for name, r in summary.items():
        vs_static = f"{r['rps'] / static:9.2f}" if static else f"{'-':>9}"
        print(
            f"{name:<12} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {vs_static}"
            f" {r['rps'] / floor:10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--compare-servers", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    env = harness.production_env(
        harness.fresh_database("liveblog_bench"), PORT, ACCESS_LOG="/dev/null"
    )
    harness.use_django(env)
    harness.migrate()
    revision = seed_story()
    targets = {
        "static": "/static/css/site.css",
        "healthz": "/healthz",
        "poll-204": f"/{SLUG}/updates/?since={revision}",
        "poll-1-new": f"/{SLUG}/updates/?since={revision - 1}",
        "story-page": f"/{SLUG}/",
    }
    print(
        f"{os.cpu_count()} cores; wrk -t1 -c{args.connections}, "
        f"{args.seconds}s x {args.rounds} rounds, "
        f"story of {UPDATES} updates, PostgreSQL + Redis"
    )
    servers = SERVERS if args.compare_servers else {"make serve (gunicorn gthread)": None}
    for label, command in servers.items():
        harness.flush_redis()
        with harness.running_server(env, command) as base:
            chosen = (
                targets
                if not args.compare_servers
                else {k: v for k, v in targets.items() if k != "static" or command is None}
            )
            report(label, measure(base, chosen, args.rounds, args.seconds, args.connections))


if __name__ == "__main__":
    main()

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
to static and to healthz. `--compare-servers` runs every target on each
candidate server, all running at once (gunicorn and uvicorn come with
`pip install ".[bench]"`). wrk shares the machine's cores with the server.

    .venv/bin/python bench/poll.py [--seconds 5] [--rounds 3] [--compare-servers]
"""

import argparse
import contextlib
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


def server_commands(port: int) -> dict[str, tuple[list[str] | None, dict[str, str]]]:
    """Candidate production servers: (command, extra environment); None is `make serve`."""
    bind = ["--host", "127.0.0.1", "--port", str(port)]
    gunicorn = [str(VENV_BIN / "gunicorn"), "liveblog.wsgi", "--bind", f"127.0.0.1:{port}"]
    gunicorn += ["--workers", WORKERS]
    return {
        "make serve (granian)": (None, {}),
        "gunicorn sync": (gunicorn + ["--worker-class", "sync"], {}),
        "gunicorn gthread": (gunicorn + ["--worker-class", "gthread", "--threads", "4"], {}),
        "granian wsgi, 1 thread": (
            [
                str(VENV_BIN / "granian"),
                "--interface",
                "wsgi",
                *bind,
                "--workers",
                str(os.cpu_count()),
                "--blocking-threads",
                "1",
                "--no-ws",
                "liveblog.wsgi:application",
            ],
            {},
        ),
        # Django's docs: no persistent connections under ASGI (one per thread otherwise).
        "uvicorn asgi": (
            [
                str(VENV_BIN / "uvicorn"),
                "liveblog.asgi:application",
                *bind,
                "--workers",
                WORKERS,
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"CONN_MAX_AGE": "0"},
        ),
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


def measure(bases: dict[str, str], targets: dict[str, str], args) -> dict[str, dict]:
    """Median of each (server, target) over the rounds, alternating everything each round."""
    runs = {(server, target): [] for server in bases for target in targets}
    for _ in range(args.rounds):
        for target, path in targets.items():
            for server, base in bases.items():
                runs[server, target].append(wrk(base + path, args.seconds, args.connections))
    return {
        server: {
            target: {k: statistics.median(r[k] for r in runs[server, target]) for k in RESULT_KEYS}
            for target in targets
        }
        for server in bases
    }


RESULT_KEYS = ("rps", "p50", "p99")


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

    env = harness.production_env(harness.fresh_database("liveblog_bench"), PORT, ACCESS_LOG="0")
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
    candidates = {
        label: (command, extra)
        for label, (command, extra) in server_commands(PORT).items()
        if command is None or Path(command[0]).exists()
    }
    if args.compare_servers and len(candidates) < len(server_commands(PORT)):
        print("Some candidates are not installed: .venv/bin/pip install '.[bench]'")
    default = "make serve (granian)"
    chosen = candidates if args.compare_servers else {default: candidates[default]}
    harness.flush_redis()
    with contextlib.ExitStack() as stack:
        bases = {}
        for offset, (label, (command, extra)) in enumerate(chosen.items()):
            port = PORT + offset
            server_env = {**env, "PORT": str(port), **extra}
            command = command and [part.replace(str(PORT), str(port)) for part in command]
            bases[label] = stack.enter_context(harness.running_server(server_env, command))
        results = measure(bases, targets, args)
    for label, summary in results.items():
        report(label, summary)


if __name__ == "__main__":
    main()

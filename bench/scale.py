"""Scale out: many readers behind nginx's micro-cache, two app servers, one database.

Starts two `make serve` instances (one worker each) on PostgreSQL + Redis and
deploy/nginx.conf in front of them, then:

1. Readers: N simulated readers (bench/soak.py's, which follow the page's
   protocol exactly) open a live story through nginx and poll it every
   --interval seconds of story time, compressed --speedup times, while an
   editor posts, edits and retracts through coverage.publishing, then ends the
   coverage (which stops every poller). Prints reader requests, origin requests
   (from nginx's log, background refreshes included, and checked against the
   app servers' own logs), origin requests per story state and per URL per
   cache period, and how many readers end with a copy that differs from the
   story's published state (must be 0).
2. Throughput: wrk on an idle poll through nginx next to nginx serving a
   static file, alternating, and the readers one machine holds at a 10 s poll
   interval (polls/s x 10).

    .venv/bin/python bench/scale.py [--readers 1000] [--seconds 12] [--speedup 5]

Loopback only; bounded in time; exits non-zero on a mismatch.
"""

import argparse
import asyncio
import collections
import contextlib
import math
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness, nginx  # noqa: E402
from bench.poll import wrk  # noqa: E402
from bench.soak import Reader, server_state  # noqa: E402

SLUG = "scale-story"
# What reaches the app servers, with the query: their own count of origin requests.
ORIGIN_LOG_FORMAT = '"%(method)s %(path)s?%(query_string)s" %(status)d'
NGINX_LINE = re.compile(r't=([\d.]+) "GET (\S+) HTTP/[\d.]+" (\d+) .* upstream=(\S+)')


async def run_readers(base_url, n_readers, interval, deadline):
    """Every reader opens the page at a random moment, then polls every interval."""
    # A client per 25 readers: one httpx pool with a thousand waiting requests
    # spends its time choosing among them, not sending them.
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30)
            )
            for _ in range(math.ceil(n_readers / 25))
        ]
        readers = [Reader(clients[n % len(clients)], f"/{SLUG}/") for n in range(n_readers)]

        async def follow(reader):
            await asyncio.sleep(random.uniform(0, interval))
            await reader.load_page()
            while time.monotonic() < deadline:
                await asyncio.sleep(interval * random.uniform(0.9, 1.1))
                await reader.poll_once()
                if reader.poll_url is None:
                    return  # the coverage ended and this reader has all of it
            # Still polling at the deadline: counted as a mismatch below.

        await asyncio.gather(*(follow(reader) for reader in readers))
        return readers


def edit(story, seconds: float, pause: float, rng: random.Random) -> int:
    """Post, edit and retract through the write path for `seconds`; return the changes."""
    from coverage import publishing
    from coverage.models import Update

    changes = 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        kind = rng.choices(["post", "edit", "retract"], weights=[6, 3, 1])[0]
        visible = list(Update.objects.filter(story=story, retracted_at__isnull=True))
        if kind == "post" or not visible:
            publishing.post_update(story, body=f"<p>News, change {changes}.</p>")
        elif kind == "edit":
            update = rng.choice(visible)
            publishing.edit_update(
                update.pk, expected_version=update.version, body=f"<p>Edited in {changes}.</p>"
            )
        else:
            publishing.retract(rng.choice(visible).pk)
        changes += 1
        time.sleep(pause)
    return changes


def nginx_requests(log: Path, since: float) -> list[tuple[float, str, int, bool]]:
    """(time, URI, status, reached the origin) for each request logged after `since`."""
    rows = []
    for line in log.read_text().splitlines():
        match = NGINX_LINE.search(line)
        if match and float(match.group(1)) >= since:
            t, uri, status, upstream = match.groups()
            rows.append((float(t), uri, int(status), upstream != "-"))
    return rows


def origin_lines(logs: list[Path], offsets: list[int]) -> int:
    """Requests the app servers logged past each log's offset (health checks aside)."""
    count = 0
    for log, offset in zip(logs, offsets, strict=True):
        with open(log) as f:
            f.seek(offset)
            count += sum(1 for line in f if line.startswith('"GET /') and "/healthz" not in line)
    return count


def reader_phase(base, story, args, nginx_log, server_logs) -> dict:
    from coverage import publishing
    from coverage.models import Story

    interval = 10 / args.speedup
    # Time for the slowest reader to join, follow the coverage and see it end.
    deadline = time.monotonic() + interval * 3 + args.seconds + 20
    outcome = {}
    started = time.time()
    offsets = [log.stat().st_size for log in server_logs]
    revision_before = Story.objects.get(pk=story.pk).revision

    def readers_thread():
        try:
            outcome["readers"] = asyncio.run(run_readers(base, args.readers, interval, deadline))
        except BaseException as error:  # reported below
            outcome["error"] = error

    thread = threading.Thread(target=readers_thread, daemon=True)
    thread.start()
    changes = edit(story, args.seconds, args.pause, random.Random(1))
    publishing.end_coverage(story.pk)  # the last change: stops every reader's polling
    thread.join(timeout=max(1, deadline - time.monotonic()) + 5)
    if "error" in outcome:
        raise outcome["error"]
    if thread.is_alive():
        raise TimeoutError("readers still running past the deadline")
    seconds = time.time() - started
    time.sleep(1.5)  # nginx writes its log buffer every second

    states = Story.objects.get(pk=story.pk).revision - revision_before + 1
    expected = server_state(story)
    readers = outcome["readers"]
    requests = [r for r in nginx_requests(nginx_log, started) if r[1] != "/healthz"]
    origin = [r for r in requests if r[3]]
    # The micro-cache's period: 1 s (pages, feeds) or the poll's own max-age (2 s):
    # count, per URL, the origin requests within each 1 s, the shorter of the two.
    per_url_period = collections.Counter((uri, math.floor(t)) for t, uri, _, _ in origin)
    errors = collections.Counter(status for _, _, status, _ in requests if status >= 400)
    return {
        "readers": len(readers),
        "seconds": round(seconds, 1),
        "poll interval": f"10 s of story time = {interval:.1f} s here (x{args.speedup})",
        "story states": states,
        "changes by the editor": changes + 1,
        "reader requests": len(requests),
        # Below N / interval when the one-process client cannot keep the pace.
        "reader requests/s": round(len(requests) / seconds),
        "polls": sum(reader.polls for reader in readers),
        "origin requests": len(origin),
        "origin, app servers' logs": origin_lines(server_logs, offsets),
        "origin per story state": round(len(origin) / states, 1),
        "reader requests per origin": round(len(requests) / max(1, len(origin)), 1),
        "max origin per URL per 1 s": max(per_url_period.values(), default=0),
        "errors (4xx/5xx)": dict(errors) or 0,
        "still polling at the end": sum(reader.poll_url is not None for reader in readers),
        "mismatches": sum(
            reader.state() != expected or reader.poll_url is not None for reader in readers
        ),
    }


def throughput_phase(base, static_path, poll_path, args) -> dict:
    targets = {"nginx static file": static_path, "poll via nginx (204)": poll_path}
    runs = collections.defaultdict(list)
    # Warm the cache first: while a cold miss is fetched, the other requests for
    # that URL wait on proxy_cache_lock, which nginx checks every 500 ms; that
    # happens once per URL, not once per period (then stale answers are served).
    for path in targets.values():
        httpx.get(base + path, timeout=10)
    for _ in range(args.rounds):
        for name, path in targets.items():
            runs[name].append(wrk(base + path, args.wrk_seconds, args.connections))
    return {
        name: {key: statistics.median(r[key] for r in runs[name]) for key in ("rps", "p50", "p99")}
        for name in targets
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=12, help="the editor's time")
    parser.add_argument("--speedup", type=float, default=5, help="time compression")
    parser.add_argument("--pause", type=float, default=0.5, help="between editor changes")
    parser.add_argument("--wrk-seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--port", type=int, default=8151, help="nginx; app servers on +1, +2")
    parser.add_argument("--database", default="liveblog_scale", help="dropped and created")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    nginx.ensure_installed()

    app_ports = (args.port + 1, args.port + 2)
    env = harness.production_env(
        harness.fresh_database(args.database),
        app_ports[0],
        # One worker each: two servers share this machine's two cores.
        WEB_CONCURRENCY="1",
        ACCESS_LOG="1",
        GRANIAN_LOG_ACCESS_FMT=ORIGIN_LOG_FORMAT,
    )
    harness.use_django(env)
    harness.migrate()
    harness.flush_redis()
    from django.conf import settings

    from coverage import publishing
    from coverage.models import Story

    story = publishing.create_story(slug=SLUG, title="Scale story", status=Story.Status.LIVE)
    for n in range(30):
        publishing.post_update(story, body=f"<p>Before the readers came, {n}.</p>")

    prefix = Path(tempfile.mkdtemp(prefix="liveblog-nginx-"))
    with contextlib.ExitStack() as stack:
        for port in app_ports:
            stack.enter_context(harness.running_server({**env, "PORT": str(port)}))
        server_logs = [harness.ROOT / "bench" / f"server-{port}.log" for port in app_ports]
        nginx_log = stack.enter_context(
            nginx.running_nginx(
                prefix,
                args.port,
                app_ports,
                settings.STATIC_ROOT,
                settings.MEDIA_ROOT,
                workers=os.cpu_count(),
            )
        )
        base = f"http://127.0.0.1:{args.port}"
        report = reader_phase(base, story, args, nginx_log, server_logs)
        for key, value in report.items():
            print(f"{key:>28}: {value}")

        manifest = (Path(settings.STATIC_ROOT) / "staticfiles.json").read_text()
        static = "/static/" + re.search(r'"css/site\.css": "([^"]+)"', manifest).group(1)
        revision = Story.objects.get(pk=story.pk).revision
        poll = f"/{SLUG}/updates/?since={revision}"
        results = throughput_phase(base, static, poll, args)
    shutil.rmtree(prefix, ignore_errors=True)

    print(
        f"\nwrk -t1 -c{args.connections}, {args.wrk_seconds}s x {args.rounds} rounds, "
        f"{os.cpu_count()} cores shared by wrk, nginx and both app servers"
    )
    static_rps = results["nginx static file"]["rps"]
    for name, r in results.items():
        print(
            f"{name:<22} {r['rps']:9.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms"
            f"  x static {r['rps'] / static_rps:5.2f}"
        )
    poll_rps = results["poll via nginx (204)"]["rps"]
    print(f"readers one machine holds at a 10 s poll interval: {poll_rps * 10:,.0f}")
    if report["mismatches"]:
        sys.exit(1)


if __name__ == "__main__":
    main()

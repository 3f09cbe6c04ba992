"""How much does an API client's idle "changes since" cost, next to /healthz?

Starts the production server (`make serve`, PostgreSQL + Redis, plain HTTP on
loopback: SECURE_SSL_REDIRECT off, so nothing measured is a redirect) with a
story of 2,000 updates, and measures with wrk, alternating targets round by
round so that noise on a shared machine spreads evenly:

  healthz         /healthz, a Django view with no database (the framework floor)
  api-idle        /api/v1/stories/<slug>/changes?since=<its revision>: nothing new
  poll-204        the reader's poll when nothing is new, for comparison
  api-1-new       changes since the revision before: one update (cached per revision)
  api-story       /api/v1/stories/<slug>

Every answer wrk gets is checked (a Lua script compares status and body with
what was fetched and verified first), so a run of redirects or errors cannot
pass for speed. Prints requests/s, p50/p99, each target's ratio to /healthz
(the issue's bar: api-idle >= 0.8), and the database queries of one idle
request, counted in this process against the same database and cache.

    .venv/bin/python bench/api.py [--seconds 5] [--rounds 3] [--connections 16]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402
from bench.poll import SLUG, UNIT, UPDATES, seed_story  # noqa: E402

PORT = 8141
TARGET_RATIO = 0.8

# Counts answers that are not the expected status and body (wrk's own report
# counts any 2xx or 3xx as a success).
CHECKING_SCRIPT = """
checked, wrong, wrong_status = 0, 0, 0
threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  expected_status = tonumber(args[1])
  local file = io.open(args[2], "rb")
  expected_body = file:read("*a")
  file:close()
end
function response(status, headers, body)
  checked = checked + 1
  if status ~= expected_status or body ~= expected_body then
    wrong = wrong + 1
    wrong_status = status
  end
end
-- Runs in the main state: the counts are in each thread's.
function done(summary, latency, requests)
  local total, bad, last = 0, 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("checked")
    bad = bad + thread:get("wrong")
    if thread:get("wrong_status") ~= 0 then last = thread:get("wrong_status") end
  end
  io.write(string.format("checked %d wrong %d status %d\\n", total, bad, last))
end
"""


def ensure_wrk() -> None:
    """wrk comes from Debian's packages: install it where we may (CI, a root shell)."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")


def fetch(base: str, path: str) -> tuple[int, bytes]:
    """One request, no redirect followed: what wrk will be checked against."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def verified_targets(base: str, revision: int) -> dict[str, tuple[str, int, bytes]]:
    """Each target's path with the status and body it must answer, checked here first."""
    from django.db.models import Max

    from coverage.models import Update

    # The revision before the newest update's: one change to send.
    newest = Update.objects.filter(story__slug=SLUG).aggregate(Max("revision"))["revision__max"]
    changes = f"/api/v1/stories/{SLUG}/changes?since="
    targets = {
        "healthz": "/healthz",
        "api-idle": f"{changes}{revision}",
        "poll-204": f"/{SLUG}/updates/?since={revision}",
        "api-1-new": f"{changes}{newest - 1}",
        "api-story": f"/api/v1/stories/{SLUG}",
    }
    answers = {name: (path, *fetch(base, path)) for name, path in targets.items()}
    checks = {
        "healthz": lambda body: body == b"ok\n",
        "api-idle": lambda body: json.loads(body) == idle_document(revision),
        "poll-204": lambda body: body == b"",
        "api-1-new": lambda body: [c["op"] for c in json.loads(body)["changes"]] == ["upsert"],
        "api-story": lambda body: json.loads(body)["revision"] == revision,
    }
    statuses = {"poll-204": 204}
    for name, (path, status, body) in answers.items():
        if status != statuses.get(name, 200) or not checks[name](body):
            raise RuntimeError(f"{name} ({path}) answered {status}: {body[:300]!r}")
    return answers


def idle_document(revision: int) -> dict:
    return {
        "story": SLUG,
        "status": "live",
        "since": revision,
        "revision": revision,
        "has_more": False,
        "changes": [],
    }


def wrk(url: str, status: int, body: bytes, seconds: int, connections: int, workdir: Path):
    script = workdir / "check.lua"
    script.write_text(CHECKING_SCRIPT)
    expected = workdir / "expected"
    expected.write_bytes(body)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         url, "--", str(status), str(expected)],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout  # fmt: skip
    return parse(url, out)


def parse(url: str, out: str) -> dict[str, float]:
    checked, wrong, wrong_status = map(
        int, re.search(r"checked (\d+) wrong (\d+) status (\d+)", out).groups()
    )
    if wrong or not checked:
        raise RuntimeError(f"{url}: {wrong} of {checked} answers were not as expected "
                           f"(last: status {wrong_status})\n{out}")  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {
        p: float(v) * UNIT[u]
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", out, re.M)
    }
    return {"rps": rps, "p50": latency["50"], "p99": latency["99"], "checked": checked}


def idle_queries(revision: int) -> int:
    """Database queries of one idle request, after one that may fill the cache:
    the same view, database and Redis as the server's, run in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    path = f"/api/v1/stories/{SLUG}/changes"
    assert client.get(path, {"since": revision}).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, {"since": revision})
    assert response.status_code == 200 and response.json() == idle_document(revision)
    return len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    ensure_wrk()

    env = harness.production_env(
        harness.fresh_database("liveblog_bench_api"),
        PORT,
        ACCESS_LOG="0",
        # Plain HTTP on loopback: with the production default every API request
        # would be a 301 to https (only /healthz and /readyz are exempt).
        SECURE_SSL_REDIRECT="false",
    )
    # This process reads the same settings as the server: the in-process count
    # below must not be a redirect either.
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    harness.use_django(env)
    harness.migrate()
    revision = seed_story()
    harness.flush_redis()
    queries = idle_queries(revision)
    runs: dict[str, list[dict]] = {}
    with harness.running_server(env) as base, tempfile.TemporaryDirectory() as workdir:
        targets = verified_targets(base, revision)
        for _ in range(args.rounds):
            for name, (path, status, body) in targets.items():
                result = wrk(
                    base + path, status, body, args.seconds, args.connections, Path(workdir)
                )
                runs.setdefault(name, []).append(result)

    print(
        f"\n{os.cpu_count()} cores; wrk -t1 -c{args.connections}, {args.seconds}s x "
        f"{args.rounds} rounds (targets alternating), story of {UPDATES} updates, "
        "PostgreSQL + Redis, make serve (granian); every answer checked"
    )
    print(
        f"{'target':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x healthz':>10} {'checked':>9}"
    )
    floor = statistics.median(r["rps"] for r in runs["healthz"])
    summary = {}
    for name, results in runs.items():
        row = {key: statistics.median(r[key] for r in results) for key in ("rps", "p50", "p99")}
        summary[name] = row
        print(
            f"{name:<10} {row['rps']:8.0f} {row['p50']:8.2f} {row['p99']:8.2f} "
            f"{row['rps'] / floor:10.2f} {sum(r['checked'] for r in results):9d}"
        )
    ratio = summary["api-idle"]["rps"] / floor
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"\napi-idle / healthz: {ratio:.2f} ({verdict} the {TARGET_RATIO} target)")
    print(f"database queries of an idle changes-since request: {queries}")


if __name__ == "__main__":
    main()

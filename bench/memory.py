"""Does a flood of distinct unknown slugs grow a worker's memory?

Starts the production server (`make serve`, one worker, PostgreSQL + Redis),
warms it up, reads the worker's resident memory (RSS, from /proc), sends
100,000 requests for distinct slugs that name no story (every one must be a
404), and reads it again. Every in-process map is a bounded LRU
(coverage/bounded.py), so the figure must stay within 10 % of where it
started; the script exits non-zero otherwise.

    .venv/bin/python bench/memory.py [--requests 100000] [--threads 8]
"""

import argparse
import concurrent.futures
import http.client
import os
import sys
import threading
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402

PORT = 8190
WARM_UP = 2_000
TOLERANCE = 0.10


def descendants(pid: int) -> list[int]:
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def server_pid(port: int) -> int:
    """The process listening on the port (granian's main process)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # LISTEN
            inode = fields[9]
            break
    if inode is None:
        raise RuntimeError(f"nothing listens on port {port}")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            links = [
                os.readlink(f"/proc/{entry}/fd/{fd}") for fd in os.listdir(f"/proc/{entry}/fd")
            ]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return int(entry)
    raise RuntimeError(f"no process owns port {port}'s socket")


def workers(port: int) -> list[int]:
    """granian's workers: the leaves under the process that owns the socket."""
    main = server_pid(port)
    below = descendants(main)
    leaves = [pid for pid in below if not descendants(pid)]
    return leaves or [main]


def flood(base_port: int, slugs: list[str], threads: int) -> Counter:
    statuses: Counter = Counter()
    lock = threading.Lock()
    local = threading.local()

    def fetch(slug: str) -> None:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", base_port, timeout=30)
        try:
            local.connection.request("GET", f"/{slug}/")
            response = local.connection.getresponse()
            response.read()
            status = response.status
        except OSError as error:
            local.connection.close()  # reconnects on the next request
            status = type(error).__name__
        with lock:
            statuses[status] += 1

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(fetch, slugs, chunksize=256):
            pass
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    database = os.environ.get("BENCH_DATABASE", "liveblog_floods")
    env = harness.production_env(
        harness.fresh_database(database),
        PORT,
        ACCESS_LOG="0",
        WEB_CONCURRENCY="1",
        # Plain HTTP on 127.0.0.1: no TLS to redirect to.
        SECURE_SSL_REDIRECT="false",
    )
    harness.use_django(env)
    harness.migrate()
    harness.flush_redis()
    run = uuid.uuid4().hex[:8]
    with harness.running_server(env):
        pids = workers(PORT)
        warm = flood(PORT, [f"warm-{run}-{n}" for n in range(WARM_UP)], args.threads)
        before = sum(rss_kib(pid) for pid in pids)
        statuses = flood(PORT, [f"flood-{run}-{n:06d}" for n in range(args.requests)], args.threads)
        if workers(PORT) != pids:
            sys.exit(f"the worker changed during the flood ({pids} -> {workers(PORT)})")
        after = sum(rss_kib(pid) for pid in pids)
    growth = (after - before) / before
    print(f"worker processes: {len(pids)}; warm-up: {WARM_UP} requests {dict(warm)}")
    print(f"{args.requests} distinct-slug requests: statuses {dict(statuses)}")
    print(f"worker RSS before: {before / 1024:.1f} MiB; after: {after / 1024:.1f} MiB")
    print(f"change: {growth:+.1%} (allowed: ±{TOLERANCE:.0%})")
    if set(statuses) != {404} or set(warm) != {404}:
        sys.exit("every request for an unknown slug must be a 404")
    if abs(growth) > TOLERANCE:
        sys.exit("worker memory is not flat")


if __name__ == "__main__":
    main()

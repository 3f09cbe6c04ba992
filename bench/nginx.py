"""Run deploy/nginx.conf, the production example, under a private prefix.

Only the values a machine decides are rewritten (ports, paths, the user), each
named below and each required to be found in the file, so the
config that tests and benchmarks run is the one a deploy installs.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def ensure_installed() -> str:
    """nginx's path, installing Debian's package first where this may (as root)."""
    if nginx_binary() is None and shutil.which("apt-get") and os.geteuid() == 0:
        quiet = {"stdout": subprocess.DEVNULL, "check": True}
        subprocess.run(["apt-get", "update", "-qq"], **quiet)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], env=env, **quiet)
    binary = nginx_binary()
    if binary is None:
        raise SystemExit("nginx is needed: apt-get install nginx")
    return binary


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def render(
    prefix: Path,
    port: int,
    app_ports: tuple[int, int],
    static_root: Path,
    media_root: Path,
    workers: int = 1,
) -> str:
    """deploy/nginx.conf with this machine's ports and paths."""
    text = CONFIG.read_text()
    replacements = {
        # Workers run as this user: root's private temp dirs are closed to www-data.
        "user www-data;": "user root;" if os.geteuid() == 0 else "",
        "worker_processes auto;": f"worker_processes {workers};",
        "pid /run/nginx.pid;": f"pid {prefix}/nginx.pid;",
        "/var/log/nginx/": f"{prefix}/log/",
        "/var/lib/nginx/": f"{prefix}/lib/",
        "/var/cache/nginx/liveblog": f"{prefix}/cache",
        "listen 80 reuseport;": f"listen 127.0.0.1:{port};",
        "server 127.0.0.1:8001 ": f"server 127.0.0.1:{app_ports[0]} ",
        "server 127.0.0.1:8002 ": f"server 127.0.0.1:{app_ports[1]} ",
        "/srv/liveblog/staticfiles/": f"{static_root}/",
        "/srv/liveblog/media/": f"{media_root}/",
    }
    for old, new in replacements.items():
        if old not in text:
            raise ValueError(f"deploy/nginx.conf no longer contains {old!r}: update bench/nginx.py")
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def running_nginx(prefix: Path, port: int, app_ports, static_root, media_root, workers=1):
    """Start nginx in the foreground on 127.0.0.1:port; yield its access log's path."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed: apt-get install nginx")
    for sub in ("log", "lib", "cache"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render(prefix, port, app_ports, static_root, media_root, workers))
    command = [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
    stderr = open(prefix / "log" / "stderr.log", "w")  # noqa: SIM115
    process = subprocess.Popen(command, stdout=stderr, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start; see {stderr.name}")
            time.sleep(0.05)
        yield prefix / "log" / "liveblog.access.log"
    finally:
        # SIGQUIT: a graceful stop, so buffered log lines are written out.
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stderr.close()

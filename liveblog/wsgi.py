import multiprocessing
import os
import signal
import sys

from django.core.wsgi import get_wsgi_application

# A granian worker is forked from granian's main process and starts with its
# TERM handler, which only flags the main process's copy of the server: a TERM
# that reaches a worker still starting (one respawned after a crash, say) was
# lost, and the worker sat out the whole --workers-kill-timeout before being
# killed. Here, before loading the app: a worker already told to stop leaves,
# and until granian installs the worker's own handler, a TERM ends it (it has
# served nothing yet).
if multiprocessing.current_process().name == "granian-worker":
    inherited = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    if getattr(inherited, "interrupt_signal", False):
        sys.exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
application = get_wsgi_application()

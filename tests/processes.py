"""Helpers for tests that start the app's own processes (the server, the task worker)."""

import os
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for another process to open the database this one uses."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict["USER"] or "")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict["PASSWORD"] else ""
    host = settings_dict["HOST"] or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{settings_dict['NAME']}"


def app_env(database: str, **extra: str) -> dict[str, str]:
    """This environment, pointed at ``database`` and the tests' settings module, with
    no shared cache: the process's own memory is all these tests need."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    return (
        env
        | {
            "DATABASE_URL": database,
            "DJANGO_SETTINGS_MODULE": "tests.serve_settings",
            "PY": sys.executable,
            "PYTHONUNBUFFERED": "1",
        }
        | extra
    )

# Two commands do all set-up: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
HOST_PORT := 127.0.0.1:$(or $(PORT),8000)

# The first interpreter >= 3.12 found: on PATH, then under pyenv.
FIND_PYTHON := for c in python3.13 python3.12 python3 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3; do \
	p=$$(command -v $$c 2>/dev/null) || continue; \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; \
	done

.PHONY: run test serve install install-test lint format clean

$(VENV)/.installed: pyproject.toml
	@py=$$($(FIND_PYTHON)); \
	if [ -z "$$py" ]; then echo "error: Python >= 3.12 is required; none found on PATH or under ~/.pyenv" >&2; exit 1; fi; \
	[ -x $(PY) ] || { echo "Creating $(VENV) with $$py"; $$py -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST_PORT)

# Production server: granian (chosen by measurement, see README), WSGI, one
# worker per core (WEB_CONCURRENCY), THREADS blocking threads each.
serve: install
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/granian --interface wsgi liveblog.wsgi:application --host 127.0.0.1 --port $(or $(PORT),8000) \
		--workers $${WEB_CONCURRENCY:-$$(nproc)} --blocking-threads $${THREADS:-4} --no-ws \
		--respawn-failed-workers --log-level warning $$([ "$${ACCESS_LOG:-1}" = 1 ] && echo --access-log)

test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles build *.egg-info

# Two commands do all set-up: `make run` and `make test`.
#   PORT=8101 make run      serve on another port (default 8000; `make serve` too)
#   PYTEST_ARGS='-k poll' make test   pass arguments to pytest (then no coverage floor)
VENV := .venv
PY := $(VENV)/bin/python
SERVE_PORT := $(or $(PORT),8000)
HOST_PORT := 127.0.0.1:$(SERVE_PORT)

# `make test` measures code coverage with slipcover (coverage.py cannot: the app
# named "coverage" hides it). A run of the whole suite fails under this floor, in
# percent of lines and branches together: the level measured on SQLite (94,
# where PostgreSQL's own code, coverage/postgresql and the search index, cannot
# run), less two points for machines that skip what this one runs. A run
# narrowed by PYTEST_ARGS only reports.
# (slipcover warns that it cannot measure branches in the modules pytest rewrites:
# those are the tests, which are not measured.)
COVERAGE_FLOOR := 92
SLIPCOVER = $(PY) -W "ignore:Unable to activate pytest branch coverage" -m slipcover --source coverage,liveblog --branch --skip-covered --missing-width 60 \
	$(if $(PYTEST_ARGS),,--fail-under $(COVERAGE_FLOOR))

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

# axe-core (package.json), which the browser tests inject to check accessibility.
# `npm ci` installs exactly package-lock.json's versions, again whenever it changes.
# Without npm the tests that need axe-core are skipped (and fail with CI=true).
node_modules/.installed: package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "warning: npm not found, so axe-core is not installed and" \
		"the accessibility tests will not run (Debian: apt-get install -y nodejs npm)" >&2; exit 0; }; \
	npm ci --no-audit --no-fund --loglevel=error && touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test node_modules/.installed

# PORT (default 8000) is the port served; seed_demo reads it from its environment
# to print the address.
run: install
	$(PY) manage.py migrate --noinput
	PORT=$(SERVE_PORT) $(PY) manage.py seed_demo --live
	$(PY) manage.py runserver $(HOST_PORT)

# Production server: granian (chosen by measurement, see README), WSGI, one
# worker per core (WEB_CONCURRENCY), THREADS blocking threads each, and the task
# worker beside it. bin/serve collects static files, migrates, runs both and
# stops both on TERM/INT; `exec` makes it make's own child, so make's TERM reaches it.
serve: install
	@PY=$(PY) PORT=$(SERVE_PORT) exec bin/serve

test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	@# The table lists only files not fully covered. Exit status 2 is slipcover's
	@# "under the floor" (pytest itself uses 1 for failed tests).
	@$(SLIPCOVER) -m pytest $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 2 ] || \
		echo "make test: coverage is under the floor of $(COVERAGE_FLOOR)% (lines and branches; table above)." \
		"If browser tests were skipped, install Chromium and run again." >&2; exit $$rc; }

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules staticfiles build *.egg-info

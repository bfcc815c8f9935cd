# Two commands: `make run` sets everything up and serves the app; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run serve test setup install migrate seed bench bench-load clean

# `make setup`: the app and what its tests need (pytest, Playwright, …), for development and CI.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# `make install`: the app alone, for a server (`make serve`, deploy/safar-web.service); no test tools.
RUNTIME_STAMP := $(VENV)/.installed-runtime
$(RUNTIME_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Another port: `make run PORT=8792`. The printed QR codes link to SAFAR_BASE_URL, which follows the port unless set.
PORT ?= 8000
run: seed
	SAFAR_BASE_URL="$${SAFAR_BASE_URL:-http://127.0.0.1:$(PORT)}" $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The production server: DEBUG off, so SECRET_KEY and ALLOWED_HOSTS must be set (README, "Production server").
serve: $(RUNTIME_STAMP)
	DEBUG=0 $(PY) manage.py check --deploy
	DEBUG=0 $(PY) manage.py migrate --noinput
	DEBUG=0 $(PY) manage.py collectstatic --noinput --verbosity 0
	DEBUG=0 $(VENV)/bin/gunicorn --config config/gunicorn.conf.py config.wsgi

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/case_list.py

bench-load: $(STAMP)
	$(PY) bench/load.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

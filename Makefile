# Two set-up-free entry points (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo serve test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)  ## seed three years of demo data into var/registry.sqlite (once), then serve it
	$(VENV)/bin/registry demo --serve

serve: $(STAMP)
	$(VENV)/bin/registry serve

test: $(STAMP)  ## the whole suite; PostgreSQL/Chromium variants skip with a reason if absent
	$(VENV)/bin/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) var test-artifacts

# The two commands the README starts with, and a few more.
PYTHON ?= python3
PORT ?= 8000

.PHONY: run test test-fast install bench tox lint

install:
	$(PYTHON) -m pip install -q -e ".[test]"
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error

# The example project: GraphQL + IDE at http://127.0.0.1:$(PORT)/graphql, chat at /chat/.
run:
	$(PYTHON) -m pip install -q -e ".[example]"
	$(PYTHON) manage.py migrate --no-input -v 0
	$(PYTHON) -m uvicorn example_project.asgi:application --host 127.0.0.1 --port $(PORT)

# The whole suite: unit tests, end-to-end tests against live servers and real
# clients, then the graphene env (graphene 3 needs graphql-core 3.2).
# pytest's exit code 5 (no tests collected) counts as a failure.
test: install
	$(PYTHON) -m pytest -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc
	$(PYTHON) -m tox -q -e graphene

# Ruff and mypy at the versions the `lint` extra pins (config in pyproject.toml).
lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy

test-fast:
	$(PYTHON) -m pytest -q -m "not e2e" -x

bench:
	$(PYTHON) -m pip install -q -e ".[test,bench]"
	$(PYTHON) -m benchmarks

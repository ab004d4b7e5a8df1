# The two commands the README starts with, and a few more.
PYTHON ?= python3
PORT ?= 8000

# tox finds an interpreter by name on PATH (python3.12 for py312...). pyenv's shims
# answer only for the active version, so the interpreters pyenv installed are appended
# to PATH for tox (newest patch release first; appended, so `python3` stays the one
# you have). Without pyenv this adds nothing and tox uses what PATH has.
PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null || echo "$(HOME)/.pyenv")
PYENV_PATH := $(shell ls -d "$(PYENV_ROOT_DIR)"/versions/3.[0-9]*/bin 2>/dev/null | sort -r -V | paste -s -d: -)
TOX = PATH="$$PATH$(if $(PYENV_PATH),:$(PYENV_PATH))" $(PYTHON) -m tox
# The tox envs `make test` (and so CI) runs after the suite on $(PYTHON):
# the newest combination, every floor at once, and graphene (graphql-core 3.2).
CI_ENVS ?= py313-dj61,py311-lowest,graphene
ENVS ?= ALL

.PHONY: run test test-fast test-shared-results install bench tox lint docs ide-assets

install:
	$(PYTHON) -m pip install -q -e ".[test,lint,dev,docs]" -r example_project/requirements.txt
	$(PYTHON) tests/js/install.py

# The example project: landing page at http://127.0.0.1:$(PORT)/ linking the IDE
# (/graphql) and the chat (/chat/lobby/).
run:
	$(PYTHON) -m pip install -q -e . -r example_project/requirements.txt
	$(PYTHON) manage.py migrate --no-input -v 0
	$(PYTHON) -m uvicorn example_project.asgi:application --host 127.0.0.1 --port $(PORT)

# What CI runs: the linters, the whole suite (unit tests, end-to-end tests against
# live servers and real clients) on $(PYTHON), then the tox envs in $(CI_ENVS).
# pytest's exit code 5 (no tests collected) counts as a failure.
test: install lint
	$(PYTHON) -m pytest -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc
	$(MAKE) test-shared-results
	$(TOX) -e $(CI_ENVS)

# The subscription tests again with SHARED_SUBSCRIPTION_RESULTS on by default
# (in the test process and in the servers they start): the frames must not change.
SHARED_RESULTS_TESTS = tests/operations/test_shared_results.py tests/ws/test_ws_transport_ws.py tests/ws/test_ws_legacy.py \
	tests/http/test_sse.py tests/test_testing.py tests/test_publishing.py tests/e2e/test_ws_clients.py \
	tests/e2e/test_chat.py tests/e2e/test_sse.py
test-shared-results:
	$(PYTHON) -m pytest -q -p no:cacheprovider --shared-results $(SHARED_RESULTS_TESTS)

test-fast:
	$(PYTHON) -m pytest -q -m "not e2e" -x

# Ruff, mypy and the layering (import-linter's contracts, no underscore name imported
# across modules) at the versions the `lint` extra pins (config in pyproject.toml).
lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -c "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"
	$(PYTHON) scripts/check_private_imports.py

# The whole matrix (`tox -l` lists it), or some of it: make tox ENVS=py312-dj60,ariadne
tox:
	$(TOX) -e $(ENVS)

bench:
	$(PYTHON) -m pip install -q -e ".[test,bench]" -r example_project/requirements.txt
	$(PYTHON) -m benchmarks

# The docs (docs/, Sphinx): warnings are errors. Sphinx comes with the docs
# extra, which `make install` installs too.
docs:
	$(PYTHON) -c "import sphinx" 2>/dev/null || $(PYTHON) -m pip install -q -e ".[docs]"
	$(PYTHON) -m sphinx -W --keep-going -b html docs docs/_build/html

# GraphiQL's files, from the npm packages pinned in scripts/ide_assets.py
# (needs npm); `check` instead of `fetch` compares them with a fresh download.
ide-assets:
	$(PYTHON) scripts/ide_assets.py fetch

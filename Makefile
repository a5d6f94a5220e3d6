# Every target that runs code first makes sure the virtual environment is complete.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test lint format clean wheelhouse

setup: $(STAMP)

# torch goes in first, from the pinned constraints, so nothing later pulls a CUDA build.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

TASKS := chat,chat-concise,instruct,instruct-concise

# The main job on the embedded default: tiny offline model, CPU, every task, into demo/.
demo: setup
	$(BIN)/leaderboard run -m experiment=demo task=$(TASKS)
	$(BIN)/leaderboard eval experiment=demo eval=quick
	$(BIN)/leaderboard validate --results demo/results
	$(BIN)/leaderboard build --results demo/results --out demo/_site
	@echo "Open file://$(CURDIR)/demo/_site/index.html (or: $(BIN)/leaderboard serve --dir demo/_site)"

test: setup
	sh scripts/ensure-chromium.sh
	sh scripts/ensure-sshd.sh
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Wheels of the runner core (all but torch) for an air-gapped GPU machine; see
# scripts/wheelhouse.py and scripts/install-offline.sh. E.g. make wheelhouse WHEELHOUSE_PYTHON=3.12
WHEELHOUSE ?= wheelhouse
WHEELHOUSE_PYTHON ?= 3.12
WHEELHOUSE_ARGS ?=
wheelhouse: setup
	$(BIN)/python scripts/wheelhouse.py --dest $(WHEELHOUSE) --python-version $(WHEELHOUSE_PYTHON) $(WHEELHOUSE_ARGS)

clean:
	rm -rf demo _site outputs multirun .pytest_cache

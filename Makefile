# Every target that runs code first makes sure the virtual environment is complete.
# VENV may live outside the checkout (a self-hosted runner keeps it between jobs):
#   make setup VENV=$RUNNER_TOOL_CACHE/energy-leaderboard/venv
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup setup-summary demo test lint format clean wheelhouse

# torch goes in first, from the pinned constraints, so nothing later pulls a CUDA build.
# Skipped when pyproject.toml and constraints.txt have the content the venv was made from.
setup:
	PY=$(PY) sh scripts/setup-venv.sh $(VENV)

# What the workflow jobs that plan and comment need (no torch): see scripts/setup-venv.sh.
setup-summary:
	PY=$(PY) sh scripts/setup-venv.sh --summary $(VENV)

TASKS := chat,chat-concise,instruct,instruct-concise

# The main job on the embedded default: tiny offline model, CPU, every task, into demo/; the site
# shows the demo's measured rows beside the committed published records of results/.
demo: setup
	OMP_NUM_THREADS=1 $(BIN)/leaderboard run -m experiment=demo task=$(TASKS) model=tiny-random,tiny-random-m,tiny-random-l batch_size=1,4,8
	OMP_NUM_THREADS=1 $(BIN)/leaderboard run -m experiment=demo task=chat model=tiny-random batch_size=4,8 backend=compiled
	OMP_NUM_THREADS=1 $(BIN)/leaderboard eval -m experiment=demo eval=quick model=tiny-random,tiny-random-m,tiny-random-l
	OMP_NUM_THREADS=1 $(BIN)/leaderboard run -m experiment=demo scenario=serving task=chat scenario.request_rate=16,64 scenario.min_requests=30 scenario.warmup_s=1 scenario.duration_s=3 scenario.drain_timeout_s=2
	OMP_NUM_THREADS=1 $(BIN)/leaderboard run -m experiment=demo scenario=steady task=chat model=tiny-random scenario.max_num_seqs=4,16 scenario.num_requests=64
	$(BIN)/leaderboard validate --results demo/results --results results
	$(BIN)/leaderboard build --results demo/results --results results --out demo/_site
	@echo "Open file://$(CURDIR)/demo/_site/index.html (or: $(BIN)/leaderboard serve --dir demo/_site)"
	@echo "Serving (continuous batching, rate sweep): file://$(CURDIR)/demo/_site/serving/index.html"

test: setup
	sh scripts/ensure-chromium.sh
	sh scripts/ensure-a11y-tools.sh
	sh scripts/ensure-sshd.sh
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q --durations=30

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

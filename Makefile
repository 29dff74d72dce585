# The two commands: `make run` (demo installation, dashboards on http://127.0.0.1:8501) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= var/demo
PORT   ?= 8501

.PHONY: run test setup sysdeps lint bench mutate clean

run: setup
	$(BIN)/python -m relaywatch.demo --dir $(DEMO) --serve --port $(PORT)

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -p no:cacheprovider -n auto --maxprocesses 4 --dist loadfile

setup: sysdeps $(STAMP)

sysdeps:
	@bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

mutate: setup
	$(BIN)/pip install -q -c constraints.txt -e '.[mutate]'
	$(BIN)/python scripts/mutate.py

bench: setup
	$(BIN)/python -m bench.ingest --lines 2000000 --big

clean:
	rm -rf $(VENV) var build *.egg-info

# One command to set up and start the app, one to set up and run the tests:
#   make run      make test
# Both create (or reuse) the virtual environment .venv and install the project into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synthpaint-installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# A torch wheel already on this machine (pip's find-links) installs in seconds and offline;
	@# where there is none this step does nothing and pip picks the newest torch for the platform.
	-$(BIN)/python -m pip install --quiet --no-index --no-deps "torch>=2.2" 2>/dev/null
	$(BIN)/python -m pip install --quiet -e ".[dev,train]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_latency.py

clean:
	rm -rf $(VENV) build *.egg-info

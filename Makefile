# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

# The main job: the GUI on the bundled sample data, or the headless demo where there is no display.
run: $(STAMP)
	$(BIN)/python main_window.py $(ARGS)

# Headless demo: sample data -> train -> predict -> results.
demo: $(STAMP)
	$(BIN)/segcore demo $(ARGS)

# Lint and the import contracts of pyproject.toml (segcore headless, app's layers) first: they take seconds.
test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

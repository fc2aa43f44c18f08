# slarisk developer commands. Every target builds .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench serve api-spec clean venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/slarisk demo --out demo_out

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check slarisk tests benchmarks
	$(BIN)/ruff format --check slarisk tests benchmarks
	$(BIN)/mypy slarisk

bench: $(STAMP)
	$(BIN)/python -m benchmarks

serve: $(STAMP)
	$(BIN)/slarisk serve

api-spec: $(STAMP)
	$(BIN)/slarisk api-spec --out api/openapi.json

clean:
	rm -rf $(VENV) demo_out build *.egg-info

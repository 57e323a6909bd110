# wbsdesk: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Re-install when the project metadata changes.
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test install lint clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	rm -f $(VENV)/.installed-*
	# torch/torchvision are installed with plain pip (local wheel files; uv/poetry would download GBs).
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

run: install
	$(BIN)/wbsdesk demo --if-missing
	$(BIN)/wbsdesk gui --study demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)

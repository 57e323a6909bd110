# wbsdesk: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Re-install when the project metadata changes.
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# `make package` also installs the `package` extra (PyInstaller) into the same venv.
PACKAGE_STAMP := $(VENV)/.package-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test install lint clean-venv package package-test

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

$(PACKAGE_STAMP): $(STAMP)
	rm -f $(VENV)/.package-*
	$(BIN)/python -m pip install --quiet -e '.[test,package]'
	touch $@

# The one-folder app dist/wbsdesk/ (README, "Installers"): 4-7 min, 4.3 GB with CUDA torch.
package: $(PACKAGE_STAMP)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build \
		packaging/wbsdesk.spec

# Builds, checks the packaging tests (now that PyInstaller is there), runs the bundle's self-test.
package-test: package
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/packaging
	QT_QPA_PLATFORM=offscreen dist/wbsdesk/wbsdesk --self-test

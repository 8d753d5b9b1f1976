# Grid Kiosk: `make run` and `make test` set everything up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint setup clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Byte-compiled once (and again only for changed files), so every start of the app loads
# bytecode even where PYTHONDONTWRITEBYTECODE is set: ~0.1 s of a cold start otherwise.
run: $(STAMP) fonts
	@$(BIN)/python -m compileall -q kiosk screens db
	$(BIN)/kiosk --ensure-demo

# On every core: each worker builds its own session fixtures (demo copy, PostgreSQL cluster).
test: $(STAMP) fonts
	$(BIN)/python -m pytest -n auto

bench: $(STAMP)
	$(BIN)/python -m bench

# The formatter, the linter, the types and the layer contracts (pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff format --check kiosk screens db tests bench
	$(BIN)/ruff check kiosk screens db tests bench
	$(BIN)/mypy kiosk db screens
	$(BIN)/lint-imports

# A Chinese font for QR label sheets and case slips (docs/qr.md): Debian's fonts-wqy-microhei,
# installed when missing and possible (root with apt-get); otherwise a note, and printing says
# what to do.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	@test -e $(CJK_FONT) || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q fonts-wqy-microhei >/dev/null; }; \
	  else echo "note: no CJK font for label sheets: install fonts-wqy-microhei (docs/qr.md)"; fi; }

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

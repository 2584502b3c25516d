# Tagent: the two commands are `make demo` and `make test`; both install what is missing first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Debian packages the suite needs, as "command:package" pairs; only missing ones are installed.
DEB_NEEDS := gcc:gcc make:make git:git kubectl:kubernetes-client prometheus:prometheus \
	prometheus-alertmanager:prometheus-alertmanager redis-server:redis-server chromium:chromium \
	chromedriver:chromium-driver espeak-ng:espeak-ng openssl:openssl /usr/bin/aws:awscli

.PHONY: install system-deps control-plane lint types layers pytest test demo clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

system-deps:
	@bash scripts/system-deps.sh $(DEB_NEEDS)

# The real Kubernetes control plane for the conformance and real end-to-end tests, and the helm binary for
# the README's install command, built once from Go modules into ~/.cache/tagent (scripts/control-plane.sh,
# tests/chart/helm_binary.py). Without Go those tests skip (with CI=true they fail).
control-plane: install
	@if command -v go >/dev/null 2>&1; then bash scripts/control-plane.sh && $(PY) -m tests.chart.helm_binary; \
	else echo "control plane: Go is not installed; tests on the real control plane will be skipped"; fi

lint: install
	$(VENV)/bin/ruff check engine tests bench dashboard

types: install
	$(VENV)/bin/mypy

layers: install
	$(VENV)/bin/lint-imports

pytest: install system-deps control-plane
	$(VENV)/bin/pytest -n 2 --dist loadgroup -q --durations=25

test: install system-deps lint types layers pytest

demo: install
	$(VENV)/bin/tagent demo

clean:
	rm -rf $(VENV) .tagent .pytest_cache .mypy_cache .ruff_cache

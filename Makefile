# edge-wizard developer targets. `make test` is what CI runs (through .ci/run).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Test tools built from the Go module proxy: "basic" (sops, age, kustomize, helm) or "all" (+ the
# local control plane: etcd, kube-apiserver, kcm, scheduler, kwok, Flux controllers; the edge's
# workloads: cert-manager, external-dns + Hetzner webhook, traefik, podinfo, pebble; the flux CLI).
TOOLS ?= all
PYTEST_ARGS ?=

.PHONY: venv tools lint test test-unit demo demo-tools demo-live screencast bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,lint]'
	touch $@

venv: $(VENV)/.installed

# ruff (format check + lint), mypy (strict on the core) and the import-linter contracts
lint: venv
	$(VENV)/bin/ruff format --check wizard tests
	$(VENV)/bin/ruff check wizard tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

tools:
	bash tests/tools/build.sh $(TOOLS) >/dev/null

# The whole suite runs inside a loopback-only network namespace (as root): nothing a test
# starts can reach any address but 127.0.0.1.
test: venv tools
	EDGE_WIZARD_TOOLS_BIN=$$(bash tests/tools/build.sh --print-bin) bash tests/tools/in-netns.sh \
		$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(MAKE) tools TOOLS=basic
	EDGE_WIZARD_TOOLS_BIN=$$(bash tests/tools/build.sh --print-bin) bash tests/tools/in-netns.sh \
		$(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

# The demo with every step: sops and age from PATH or the tools cache, else built once from the Go
# module proxy as the tests get them (tests/tools/demo-tools.sh says what it does and how long it
# took); without Go or a network the demo runs without the two steps that need them, and says so.
demo: venv
	@bin=$$(bash tests/tools/demo-tools.sh) && EDGE_WIZARD_TOOLS_BIN=$$bin $(VENV)/bin/edge-wizard demo $(DEMO_ARGS)

# sops and age (and nothing else) from the Go module proxy, into the tools cache
demo-tools:
	bash tests/tools/build.sh basic sops age >/dev/null

# The README's animated recording: the scripted demo recorded as an asciicast (a marker and a caption
# per stage; docs/screencast.cast), rendered to docs/screencast.gif by agg (tests/tools/agg.sh: from
# PyPI, cached under ~/.cache/edge-wizard/tools like the test tools).
SCREENCAST_PACE ?= 1.5
screencast: venv
	@agg=$$(PYTHON=$(PY) bash tests/tools/agg.sh) && bin=$$(bash tests/tools/demo-tools.sh) && \
	EDGE_WIZARD_TOOLS_BIN=$$bin $(VENV)/bin/edge-wizard demo --script --record docs/screencast.cast \
		--size 100x30 --pace $(SCREENCAST_PACE) && \
	log=$$(mktemp) && t0=$$(date +%s) && \
	{ $$agg --fps-cap 10 --idle-time-limit 4 --last-frame-duration 8 docs/screencast.cast docs/screencast.gif \
		>$$log 2>&1 || { cat $$log; rm -f $$log; exit 1; }; } && rm -f $$log && \
	echo "make screencast: docs/screencast.gif rendered by agg in $$(( $$(date +%s) - t0 ))s" && \
	ls -l docs/screencast.cast docs/screencast.gif

# The real TUI against the local stack (control plane running the real workloads, Pebble, the
# fake Hetzner API and its DNS), inside the loopback-only netns: live reconcile progress.
demo-live: venv
	$(MAKE) tools TOOLS=all
	EDGE_WIZARD_TOOLS_BIN=$$(bash tests/tools/build.sh --print-bin) bash tests/tools/in-netns.sh \
		$(PY) -m tests.e2e.live_demo $(DEMO_ARGS)

# Benchmarks (not tests): prints a table and writes bench/results.json. The Flux bundle for the
# generated ~100-file repository is assembled first, outside the netns (Go module proxy).
bench: venv
	$(MAKE) tools TOOLS=bench
	$(PY) tests/bench/bundle.py
	EDGE_WIZARD_TOOLS_BIN=$$(bash tests/tools/build.sh --print-bin) bash tests/tools/in-netns.sh \
		$(PY) tests/bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache

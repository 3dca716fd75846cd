# chx — the two commands a newcomer needs:
#   make demo   install the embedded engine if missing, build, compile + apply the shipped schema,
#               ingest the sample events, print a few results
#   make test   everything the tests need, then the whole test suite
#
# Everything installed lands in .chx/ (git-ignored): the engine's Python environment in
# .chx/venv, the demo's data in .chx/store.

PYTHON   ?= python3
VENV     := .chx/venv
CHDB_PIN := chdb-core==26.9.0
CHX      := target/debug/chx
STORE    := .chx/store
SCHEMA   := schema/ecommerce.yaml
EVENTS   := schema/examples/events.ndjson

.PHONY: engine build demo test lint fmt clean-store bench

## engine: the embedded ClickHouse (chdb-core wheel, pinned) in a project-local venv
engine: $(VENV)/.chdb-installed

$(VENV)/.chdb-installed:
	@echo "installing $(CHDB_PIN) into $(VENV) (about 180 MB, once)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps '$(CHDB_PIN)'
	@touch $@

build:
	cargo build --quiet

demo: engine build
	$(CHX) --schema $(SCHEMA) --store $(STORE) check
	$(CHX) --schema $(SCHEMA) compile --out .chx/ddl
	$(CHX) --schema $(SCHEMA) --store $(STORE) apply
	$(CHX) --schema $(SCHEMA) --store $(STORE) ingest $(EVENTS)
	@echo; echo "== events per type"
	@$(CHX) --schema $(SCHEMA) --store $(STORE) sql "SELECT event_type, count() AS events, uniqExact(person_id) AS people FROM events GROUP BY event_type ORDER BY events DESC, event_type"
	@echo; echo "== revenue per day and currency, from the revenue_daily rollup (minor units)"
	@$(CHX) --schema $(SCHEMA) --store $(STORE) sql "SELECT day, event_type, currency, sumMerge(amount) AS amount_minor, uniqExactMerge(transactions) AS orders, sumMerge(items_sold) AS items FROM revenue_daily GROUP BY day, event_type, currency ORDER BY day, event_type, currency"
	@echo; echo "== chx demo: a generated shop of about 1M events in a fresh chx_demo database, every report"
	@$(CHX) --schema $(SCHEMA) --store $(STORE) demo --events 1000000
	@echo; echo "== chx build: one SQL file per named query in queries/"
	@$(CHX) --schema $(SCHEMA) build --out .chx/sql

test: engine
	cargo test --all-targets
	cargo test --doc

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean-store:
	rm -rf $(STORE)

## bench: speed of the compiler and of every report on generated data (never part of `make test`)
bench: engine
	cargo bench --bench compiler
	cargo bench --bench chx

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

.PHONY: engine build demo test lint fmt clean-store

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
	@echo; echo "== items sold per product (event_items, filled by a materialized view)"
	@$(CHX) --schema $(SCHEMA) --store $(STORE) sql "SELECT item_id, any(item_name) AS name, currency, sum(quantity) AS units, sum(price * quantity) AS revenue_minor FROM event_items WHERE event_type = {type:String} GROUP BY item_id, currency ORDER BY item_id" --param type=purchase
	@echo; echo "== search terms (event_properties, filled by a materialized view)"
	@$(CHX) --schema $(SCHEMA) --store $(STORE) sql "SELECT value AS search_term, count() AS searches FROM event_properties WHERE key = 'search_term' GROUP BY value"
	@echo; echo "== chx report overview (Jan-Feb 2026, per currency, minor units)"
	@$(CHX) --schema $(SCHEMA) --store $(STORE) report overview --param start=2026-01-01 --param end=2026-02-28
	@echo; echo "== chx report funnel"
	@$(CHX) --schema $(SCHEMA) --store $(STORE) report funnel --param start=2026-01-01 --param end=2026-02-28
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

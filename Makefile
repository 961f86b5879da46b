# Two commands: `make run` starts the whole system, `make test` runs every test.
.PHONY: run test install bench schemas

install:
	@scripts/bootstrap >/dev/null

run: install
	@"$$(scripts/bootstrap | tail -n 1)" run pana run

test:
	@scripts/test

schemas: install
	@"$$(scripts/bootstrap | tail -n 1)" run python -m pana_events write-schemas

bench: install
	@"$$(scripts/bootstrap | tail -n 1)" run python tests/bench/run_all.py

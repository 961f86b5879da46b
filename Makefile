# Two commands: `make run` starts the whole system, `make test` runs every test.
# `make token ROLE=border-officer` prints a dev token (for the README's walk-through, from any shell).
# `make clean-state` forgets everything `make run` kept under var/ (stop it first).
# Nothing here needs uv or the virtual environment on PATH: scripts/bootstrap installs both, and the
# commands run from .venv/bin.
.PHONY: run test install bench schemas clean-state token

install:
	@scripts/bootstrap >/dev/null

# bootstrap says what it installs (the first time ~540 MB, with uv's progress), then `pana run` says what it
# starts and prints each part as it becomes ready.
run:
	@scripts/bootstrap >/dev/null && echo "make run: .venv is ready; starting .venv/bin/pana run ..." && exec .venv/bin/pana run

# A dev token (dev mode only; one hour) alone on stdout (what it is, on stderr): TOKEN=$$(make token ROLE=eligibility-officer).
# OFFICE=<office> for an office other than almaty.
token:
	@if [ -z "$(ROLE)" ]; then echo "usage: make token ROLE=<role> [OFFICE=<office>]; roles:" >&2; \
	  scripts/bootstrap >/dev/null && .venv/bin/python -c "from pana_kit.roles import ROLES; print(' '.join(ROLES))" >&2; exit 2; fi
	@scripts/bootstrap >/dev/null && exec .venv/bin/pana token --role "$(ROLE)" $(if $(OFFICE),--office "$(OFFICE)")

test:
	@scripts/test

schemas: install
	@"$$(scripts/bootstrap | tail -n 1)" run python -m pana_events write-schemas

bench: install
	@"$$(scripts/bootstrap | tail -n 1)" run python tests/bench/run_all.py

# Everything `make run` keeps is under var/: the broker's log (var/kafka), the services' SQLite
# databases, the dev keyrings and logs. Refuses while a broker on var/kafka is still running.
clean-state:
	@if pgrep -f -- "-Dkafka[.]logs[.]dir=$(CURDIR)/var/kafk[a]( |$$)" >/dev/null; then \
	  echo "make run is still running (Kafka on var/kafka): stop it with Ctrl-C first"; exit 1; fi
	@rm -rf var/
	@echo "removed var/: the next make run starts with no events, offsets, databases or keys"

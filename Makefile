# Two commands: `make run` starts the whole system, `make test` runs every test.
# `make clean-state` forgets everything `make run` kept under var/ (stop it first).
.PHONY: run test install bench schemas clean-state

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

# Everything `make run` keeps is under var/: the broker's log (var/kafka), the services' SQLite
# databases, the dev keyrings and logs. Refuses while a broker on var/kafka is still running.
clean-state:
	@if pgrep -f -- "-Dkafka[.]logs[.]dir=$(CURDIR)/var/kafk[a]( |$$)" >/dev/null; then \
	  echo "make run is still running (Kafka on var/kafka): stop it with Ctrl-C first"; exit 1; fi
	@rm -rf var/
	@echo "removed var/: the next make run starts with no events, offsets, databases or keys"

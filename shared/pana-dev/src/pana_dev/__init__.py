"""Pana's developer stack and test harness; never installed in a service image.

- `pana_dev.launchers`: brokers (Tansu, Apache Kafka) and PostgreSQL as child processes.
- `pana_dev.stack`: the whole system on one machine (`pana run`, the end-to-end tests).
- `pana_dev.testing`: the in-process harness for one service's tests.
- `pana_dev.cli`: the developer commands of `pana` (run, token).
"""

"""Diagnostic only (bench_registration.py --only e --audit off): run a service with the audit append replaced by
nothing, to measure what the rest of its write path costs. Never a way to run a service."""

import runpy
import sys

import pana_kit.audit


async def _no_audit(*args, **kwargs):
    return None


pana_kit.audit.record = _no_audit
runpy.run_module(sys.argv[1], run_name="__main__", alter_sys=True)

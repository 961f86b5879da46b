"""`pana run` is a supervisor, not a fuse: real processes, killed for real; every wait is on a condition."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from pana_dev.launchers.ports import free_port
from pana_dev.launchers.process import proc_start_time
from pana_dev.stack import HttpProcess, Stack
from pana_dev.supervisor import STATE_FILE, AlreadyRunning, Backoff, GaveUp, Supervisor
from pana_dev.running import Launcher as Launch
from pana_dev.running import alive
from pana_dev.testing import wait_for

DUMMY = textwrap.dedent('''
    import sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
''')


def dummy(tmp_path: Path, name: str = "dummy", argv: list[str] | None = None) -> HttpProcess:
    script = tmp_path / "dummy_server.py"
    script.write_text(DUMMY)
    port = free_port()
    return HttpProcess(name, argv or [sys.executable, str(script), str(port)], port, env={},
                       log_path=tmp_path / "logs" / f"{name}.log")


def test_the_backoff_doubles_from_half_a_second_to_thirty():
    assert [Backoff().delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_a_supervised_child_killed_with_sigkill_is_restarted_and_serves_again(tmp_path):
    said: list[str] = []
    sup = Supervisor(Stack(var_dir=tmp_path), say=said.append)
    proc = dummy(tmp_path)
    try:
        sup.add(proc)
        sup.wait_started(timeout=60)
        first = proc.pid
        os.kill(first, signal.SIGKILL)

        def serving_again():
            sup.poll()
            return proc.pid != first and sup.children["dummy"].up_since is not None and proc.healthy()

        wait_for(serving_again, interval=0.05, what="the dummy restarted and answering")
        assert said[0] == "dummy exited with code -9; restarting in 0.5 s (restart 1)"
        assert said[1] == "dummy is back (restart 1)"
        assert json.loads(sup.state_path.read_text())["children"]["dummy"]["pid"] == proc.pid
    finally:
        sup.stop()
    assert not proc.is_running and not sup.state_path.exists()


def test_the_back_off_doubles_for_crashes_in_a_row_and_starts_afresh_once_it_stayed_up(tmp_path):
    said: list[str] = []
    sup = Supervisor(Stack(var_dir=tmp_path), say=said.append, backoff=Backoff(initial=0.2, reset_after=3600))
    proc = dummy(tmp_path)

    def crash_and_wait_back():
        pid = proc.pid
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: sup.poll() or (proc.pid != pid and sup.children["dummy"].up_since is not None),
                 interval=0.02, what="the dummy back")

    try:
        sup.add(proc)
        sup.wait_started(timeout=60)
        crash_and_wait_back()
        crash_and_wait_back()  # in a row: twice the delay
        sup.backoff = Backoff(initial=0.2, reset_after=0)  # as if it had now stayed up long enough
        sup.poll()
        crash_and_wait_back()
        assert [line.split("; ")[1] for line in said if "exited" in line] == [
            "restarting in 0.2 s (restart 1)", "restarting in 0.4 s (restart 2)", "restarting in 0.2 s (restart 3)"]
    finally:
        sup.stop()


def test_a_crashed_broker_is_started_again_on_the_same_port(tmp_path):
    from pana_dev.launchers.ports import port_open
    from pana_dev.launchers.tansu import EmbeddedBroker

    said: list[str] = []
    stack = Stack(var_dir=tmp_path)
    broker = EmbeddedBroker(log_path=tmp_path / "logs" / "tansu.log").start()
    stack.infra.append(broker)
    sup = Supervisor(stack, say=said.append)
    try:
        sup.add(broker, infra=True)
        first = broker.pid
        os.kill(first, signal.SIGKILL)

        def listening_again():
            sup.poll()
            return broker.pid != first and broker.is_running and port_open("127.0.0.1", broker.port)

        wait_for(listening_again, interval=0.05, what="tansu restarted on its port")
        assert said == ["tansu exited with code -9; restarting in 0.5 s (restart 1)"]
    finally:
        sup.stop()
    assert not broker.is_running


def test_a_child_that_keeps_dying_while_starting_is_reported_never_announced(tmp_path):
    said: list[str] = []
    sup = Supervisor(Stack(var_dir=tmp_path), say=said.append, backoff=Backoff(initial=0.01), startup_restarts=2)
    proc = dummy(tmp_path, "broken", [sys.executable, "-c", "print('no config'); raise SystemExit(3)"])
    try:
        sup.add(proc)
        with pytest.raises(GaveUp, match=r"broken exited with code 3 3 times while starting(.|\n)*no config"):
            sup.wait_started(timeout=120)
        assert not sup.announced
        assert said == ["broken exited with code 3; restarting in 0.0 s (restart 1)",
                        "broken exited with code 3; restarting in 0.0 s (restart 2)"]
    finally:
        sup.stop()


def test_a_stack_waiting_for_one_child_notices_another_one_died(tmp_path):
    stack = Stack(var_dir=tmp_path)
    first, second = dummy(tmp_path, "first"), dummy(tmp_path, "second")
    for proc in (first, second):
        proc.watch = stack.check_alive
        stack.processes[proc.name] = proc
    try:
        first.start(60)
        first.kill()
        first._stopped = False  # as if it had crashed, not been stopped
        with pytest.raises(RuntimeError, match="first exited with code -9"):
            second.start(60)
    finally:
        stack.stop()


def write_state(var: Path, launcher: tuple[int, int | None], children: dict[str, tuple[int, int | None]]) -> None:
    path = var / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "launcher": {"pid": launcher[0], "start_time": launcher[1]},
        "children": {name: {"pid": pid, "pgid": pid, "start_time": start} for name, (pid, start) in children.items()},
    }))


def test_a_live_launcher_on_the_same_var_is_not_cleaned_up_but_named(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        write_state(tmp_path, (other.pid, proc_start_time(other.pid)), {})
        with pytest.raises(AlreadyRunning, match=f"pana run \\(pid {other.pid}\\) is already running"):
            Supervisor(Stack(var_dir=tmp_path)).clean_up_leftovers()
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_recorded_pid_now_used_by_another_process_is_left_alone(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE,
                                 start_new_session=True)  # its own group, like a recorded child
    try:
        started = proc_start_time(bystander.pid)
        write_state(tmp_path, (bystander.pid, started - 1), {"rsd": (bystander.pid, started - 1)})  # an older process
        said: list[str] = []
        assert Supervisor(Stack(var_dir=tmp_path), say=said.append).clean_up_leftovers() == []
        assert bystander.poll() is None and said == [] and not (tmp_path / STATE_FILE).exists()
    finally:
        bystander.kill()
        bystander.wait()


# -- the launcher itself, as a process ------------------------------------------------------------------


def Launcher(var: Path, only: str, *extra: str, sim_port: int | None = None, rsd_port: int | None = None) -> Launch:
    """`pana run --only ...` on free ports (the simulator's and rsd's) and its own var directory."""
    return Launch(var, "--only", only, *extra, ports={"rsd": rsd_port or free_port()},
                  simulator_port=sim_port or free_port())


def test_sigkill_of_the_launcher_leaves_no_child_behind(tmp_path):
    launcher = Launcher(tmp_path / "var", "simulator,rsd", "--broker", "embedded", "--database", "sqlite")
    try:
        children = launcher.wait_running()
        assert {"civil-registry-simulator", "rsd"} <= set(children) and len(children) >= 3  # and a broker
        launcher.proc.kill()
        launcher.proc.wait()
        wait_for(lambda: not any(alive(*c) for c in children.values()), timeout=30,
                 what=f"every child of the killed launcher gone: {children}")
    finally:
        if launcher.proc.poll() is None:
            launcher.proc.kill()


def test_a_new_launcher_ends_what_a_sigkilled_one_left_behind(tmp_path):
    sim_port = free_port()
    var = tmp_path / "var"
    old = Launcher(var, "simulator", "--no-parent-death-signal", sim_port=sim_port)
    new, left = None, {}
    try:
        left = old.wait_running()
        old.proc.kill()
        old.proc.wait()
        assert all(alive(*c) for c in left.values())  # as an old launcher, or one without a parent-death signal
        new = Launcher(var, "simulator", sim_port=sim_port)
        new.wait_running()
        assert "cleaned up after an earlier pana run" in new.output and "civil-registry-simulator" in new.output
        assert not any(alive(*c) for c in left.values())
        assert httpx.get(f"http://127.0.0.1:{sim_port}/healthz").status_code == 200  # the port was free again
    finally:
        for launcher in (old, new):
            if launcher is not None and launcher.proc.poll() is None:
                launcher.proc.kill()
        for pid, start in left.values():
            if alive(pid, start):
                os.kill(pid, signal.SIGKILL)


def test_the_launcher_restarts_a_killed_child_and_ctrl_c_stops_it_and_every_child(tmp_path):
    sim_port = free_port()
    launcher = Launcher(tmp_path / "var", "simulator", sim_port=sim_port)
    try:
        first = launcher.wait_running()["civil-registry-simulator"]
        os.kill(first[0], signal.SIGKILL)
        wait_for(lambda: "civil-registry-simulator is back (restart 1)" in launcher.output, timeout=120,
                 what="the launcher to restart the simulator")
        assert "civil-registry-simulator exited with code -9; restarting in 0.5 s (restart 1)" in launcher.output
        assert httpx.get(f"http://127.0.0.1:{sim_port}/healthz").status_code == 200
        children = launcher.children()
        assert children["civil-registry-simulator"] != first
        began = time.monotonic()
        os.killpg(launcher.proc.pid, signal.SIGINT)
        launcher.proc.wait(timeout=60)
        took = time.monotonic() - began
        print(f"\n[supervisor] Ctrl-C to launcher exit: {took:.2f} s ({launcher.output.splitlines()[-1]})")
        assert launcher.proc.returncode == 0, launcher.output
        assert not any(alive(*c) for c in children.values())
        assert not (tmp_path / "var" / STATE_FILE).exists()
    finally:
        if launcher.proc.poll() is None:
            launcher.proc.kill()


def test_each_part_is_announced_once_as_it_becomes_ready_with_its_address(tmp_path):
    said: list[str] = []
    progress: list[str] = []
    sup = Supervisor(Stack(var_dir=tmp_path), say=said.append, progress=progress.append)
    procs = [dummy(tmp_path, "first"), dummy(tmp_path, "second")]
    try:
        for proc in procs:
            sup.add(proc)
        sup.wait_started(timeout=60)
        assert sorted(line.split()[2] for line in progress) == ["first", "second"]
        for proc in procs:
            (line,) = [line for line in progress if f" {proc.name} " in line]
            assert line.endswith(f"ready  {proc.url}/docs") and line.split()[1] == "s", line
        first = procs[0].pid
        os.kill(first, signal.SIGKILL)  # after the start, a restart is said once (say), not announced again

        def back():
            sup.poll()
            return procs[0].pid != first and sup.children["first"].up_since is not None

        wait_for(back, interval=0.05, what="first restarted")
        assert len(progress) == 2 and said[-1] == "first is back (restart 1)"
    finally:
        sup.stop()

"""Loopback ports for the self-starting infrastructure.

Everything binds 127.0.0.1 on a port the OS picks, so parallel test sessions
and engineers on the same machine never collide on fixed ports.
"""

from __future__ import annotations

import socket
import time

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """Return a port that was free on ``host`` a moment ago.

    There is a small race between closing the probe socket and the server
    binding it; `free_ports` avoids handing out the same port twice in one call.
    """
    return free_ports(1, host)[0]


def free_ports(n: int, host: str = LOOPBACK) -> list[int]:
    """Return ``n`` distinct free ports (the probe sockets stay open until all are chosen)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 30.0, interval: float = 0.05) -> None:
    """Block until ``host:port`` accepts connections; raise `TimeoutError` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if port_open(host, port):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{host}:{port} did not accept connections within {timeout:.1f}s")
        time.sleep(interval)

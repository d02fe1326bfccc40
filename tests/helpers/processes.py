"""Test servers run as real processes: a free loopback port, and waiting until one answers."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    """Poll `url` until it answers; fail with the process's output if it dies or never answers."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                out = out.decode() if isinstance(out, bytes) else out
                err = proc.stderr.read() if proc.stderr else ""
                err = err.decode() if isinstance(err, bytes) else err
                pytest.fail(f"{what} exited: {(out + err)[-2000:]}")
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{what} did not answer within {timeout:.0f} s")

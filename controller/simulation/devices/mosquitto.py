"""A private Mosquitto broker on a free loopback port (demo and tests), stoppable and restartable."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

from controller.clock import Clock, SystemClock

__all__ = ["PrivateMosquitto", "broker_listening", "mosquitto_binary"]


def broker_listening(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def mosquitto_binary() -> str | None:
    """The mosquitto executable, or ``None`` when it is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


class PrivateMosquitto:
    """``mosquitto -c`` with an anonymous listener on 127.0.0.1 and a free port, config in ``directory``.

    ``extra_conf`` is appended to the listener's configuration (e.g. ``certfile``/``keyfile`` for TLS).
    """

    def __init__(self, directory: Path, extra_conf: str = "") -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = binary
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        directory.mkdir(parents=True, exist_ok=True)
        self.conf = directory / "mosquitto.conf"
        # run as ourselves: as root mosquitto would switch to "mosquitto" and lose access to our files
        user = pwd.getpwuid(os.getuid()).pw_name
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"user {user}\n{extra_conf}"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0, clock: Clock | None = None) -> None:
        """Start and wait (bounded, on the wall clock: a real process) until it listens."""
        wall = clock or SystemClock()
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        deadline = wall.monotonic() + timeout_s
        while not broker_listening("127.0.0.1", self.port, 0.2):
            if self.proc.poll() is not None or wall.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mosquitto did not start on 127.0.0.1:{self.port}")
            wall.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None

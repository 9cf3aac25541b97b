"""What a daemon with the usual devices loads: neither ``requests`` (about 10 MB) nor SQLAlchemy nor the
DSMR parser; they load only for the parts that need them (a proxy, a URL schedule, other meters)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CODE = """
import sys
from pathlib import Path
from controller.clock import SystemClock
from controller.daemon.daemon import Daemon
from controller.daemon.devices import build_devices
from controller.daemon.schedule_source import build_schedule_source
from controller.settings import load_settings

config = Path(sys.argv[1])
config.write_text(
    'site_id = "home"\\n[battery]\\nhost = "127.0.0.1"\\nport = 9\\n'
    '[meter]\\nhost = "127.0.0.1"\\nport = 9\\n'
    '[server]\\nurl = "https://zsm.example.org"\\ntoken = "t"\\n'
)
settings = load_settings(config)
daemon = Daemon(settings, SystemClock(), build_devices)
devices = build_devices(settings, SystemClock())
client = daemon._server_client()
build_schedule_source(settings.schedule, client, 5.0)
heavy = ("requests", "urllib3", "sqlalchemy", "dsmr_parser.parsers", "urllib.request")
print(",".join(name for name in heavy if name in sys.modules))
"""


def test_the_usual_daemon_loads_no_heavy_http_or_database_library(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no proxy variables
    result = subprocess.run(
        [sys.executable, "-c", CODE, str(tmp_path / "zsm.toml")],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""

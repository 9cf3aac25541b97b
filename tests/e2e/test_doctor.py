"""``zsm doctor`` on a demo installation: every check passes; a wrong token and a dead battery are named."""

from __future__ import annotations

from pathlib import Path

from controller.cli import main
from controller.demo import DemoOptions, DemoSystem
from controller.doctor import Status, run_checks


def test_doctor_on_a_working_and_a_broken_installation(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    system = DemoSystem(DemoOptions(directory=tmp_path / "demo", speed=1.0))
    info = system.start()
    try:
        system.run_daemon(max_ticks=3)  # leaves an event log behind
        checks = {c.name: c for c in run_checks(str(info.config_path), system.clock)}
        assert [c.status for c in checks.values()].count(Status.FAIL) == 0, checks
        assert checks["battery"].status is Status.OK and "solarFlow800Pro" in checks["battery"].detail
        assert checks["meter"].status is Status.OK and "grid" in checks["meter"].detail
        assert checks["server"].status is Status.OK and checks["clock"].status is Status.OK
        assert checks["disk"].status is Status.OK
        assert checks["meter lag"].status in (Status.OK, Status.WARN)  # three ticks tell little about the lag

        broken = tmp_path / "broken.toml"
        text = info.config_path.read_text()
        text = text.replace(f"port = {system.zendure.port}", "port = 9")  # nothing listens on port 9  # type: ignore[union-attr]
        broken.write_text(text.replace('token = "', 'token = "wrong'))
        assert main(["--config", str(broken), "doctor"]) == 1
        out = capsys.readouterr().out
        assert "[FAIL] battery" in out and "[FAIL] server" in out and "token refused" in out
    finally:
        system.stop()

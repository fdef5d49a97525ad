"""`otpsync autostart`: the login entry each platform expects, written and removed."""

from __future__ import annotations

import plistlib
import shlex
import subprocess
from pathlib import Path

from daemon import autostart
from tests.conftest import Home


def test_enable_status_disable_writes_an_xdg_entry(make_home, tmp_path: Path) -> None:
    home: Home = make_home("laptop")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    entry = tmp_path / "xdg" / "autostart" / "otpsync.desktop"
    assert "disabled" in home.ok("autostart", "status", env=env).stdout
    assert str(entry) in home.ok("autostart", "enable", env=env).stdout
    text = entry.read_text()
    assert "[Desktop Entry]" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    argv = shlex.split(exec_line.removeprefix("Exec="))
    assert argv[-1] == "run"
    assert argv[argv.index("--home") + 1] == str(home.path)
    # The command it names really is otpsync, in this environment.
    version = subprocess.run([*argv[:-1], "--version"], capture_output=True, text=True,
                             check=True, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert version.stdout.startswith("otpsync ")
    assert "enabled" in home.ok("autostart", "status", env=env).stdout
    home.ok("autostart", "disable", env=env)
    assert not entry.exists()
    assert "was not set" in home.ok("autostart", "disable", env=env).stdout


def test_enable_refuses_a_home_that_is_not_set_up(make_home, tmp_path: Path) -> None:
    home: Home = make_home("laptop", init=False)
    (home.path / "config.toml").unlink()
    done = home.run("autostart", "enable", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert done.returncode == 1
    assert "otpsync init" in done.stderr
    assert not (tmp_path / "xdg").exists()


def test_macos_launch_agent_is_a_valid_plist(tmp_path: Path) -> None:
    entry = autostart.entry_for("darwin", tmp_path / "h", {"HOME": str(tmp_path)})
    assert entry.path == tmp_path / "Library" / "LaunchAgents" / "org.otpsync.tray.plist"
    plist = plistlib.loads(entry.content.encode())
    assert plist["RunAtLoad"] is True
    assert plist["ProgramArguments"][-3:] == ["--home", str(tmp_path / "h"), "run"]


def test_windows_startup_launcher(tmp_path: Path) -> None:
    entry = autostart.entry_for("win32", None, {"APPDATA": str(tmp_path)})
    assert entry.path.parent.name == "Startup"
    assert entry.content.startswith('@start "" "')
    assert "pythonw.exe" in entry.content
    assert entry.content.rstrip().endswith('"run"')


def test_enable_warns_when_nothing_could_give_the_passphrase_at_login(
    make_home, tmp_path: Path
) -> None:
    """At login there is no terminal and no OTPSYNC_PASSPHRASE: without a keyring entry,
    passphrase_command or passphrase_file the started otpsync could not open the vault."""
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    bare: Home = make_home("laptop")  # the tests' keyring is the "fail" backend: empty
    done = bare.ok("autostart", "enable", env=env)
    assert "no terminal to ask for the passphrase" in done.stderr
    assert "passphrase_command" in done.stderr
    assert (tmp_path / "xdg" / "autostart" / "otpsync.desktop").exists()  # enabled anyway

    pw = tmp_path / "pw"
    pw.write_text(bare.passphrase + "\n")
    pw.chmod(0o600)
    bare.write_config("laptop", passphrase_file=str(pw))
    done = bare.ok("autostart", "enable", env=env)
    assert done.stderr == ""
    # …and that source really opens the vault with no passphrase in the environment.
    assert bare.run("list", passphrase="").returncode == 0

"""Passphrase sources, in their documented order; failures say which source and why."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from daemon.errors import PassphraseUnavailable
from daemon.passphrase import PassphraseSources, get_passphrase


@pytest.fixture(autouse=True)
def no_env_and_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTPSYNC_PASSPHRASE", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def secret_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def command(tmp_path: Path, body: str) -> str:
    script = tmp_path / "pw.py"
    script.write_text(body)
    return f"{sys.executable} {script}"


def test_order_env_then_flag_then_command_then_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = secret_file(tmp_path, "flag", "from-flag\n")
    conf = secret_file(tmp_path, "conf", "from-config-file\r\n")
    cmd = command(tmp_path, "print('from-command')")
    all_sources = PassphraseSources(file=flag, command=cmd, config_file=conf, interactive=False)
    monkeypatch.setenv("OTPSYNC_PASSPHRASE", "from-env")
    assert get_passphrase(all_sources) == ("from-env", "$OTPSYNC_PASSPHRASE")
    monkeypatch.delenv("OTPSYNC_PASSPHRASE")
    assert get_passphrase(all_sources)[0] == "from-flag"
    no_flag = PassphraseSources(command=cmd, config_file=conf, interactive=False)
    assert get_passphrase(no_flag)[0] == "from-command"
    assert get_passphrase(PassphraseSources(config_file=conf, interactive=False))[0] == (
        "from-config-file"
    )


def test_inner_spaces_and_trailing_spaces_are_kept(tmp_path: Path) -> None:
    path = secret_file(tmp_path, "pw", "  two words  \n")
    assert get_passphrase(PassphraseSources(file=path))[0] == "  two words  "


def test_failing_command_reports_exit_and_stderr_never_stdout(tmp_path: Path) -> None:
    cmd = command(
        tmp_path,
        "import sys; print('hunter2-leaked'); print('store is locked', file=sys.stderr);"
        " sys.exit(3)",
    )
    with pytest.raises(PassphraseUnavailable) as err:
        get_passphrase(PassphraseSources(command=cmd))
    assert "exit 3" in str(err.value)
    assert "store is locked" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_missing_command_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PassphraseUnavailable, match="not found"):
        get_passphrase(PassphraseSources(command="/nonexistent/pass show otpsync"))
    with pytest.raises(PassphraseUnavailable, match="does not exist"):
        get_passphrase(PassphraseSources(file=tmp_path / "nope"))


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PassphraseUnavailable, match="empty"):
        get_passphrase(PassphraseSources(file=secret_file(tmp_path, "pw", "\n")))


def test_world_readable_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = secret_file(tmp_path, "pw", "x")
    path.chmod(0o644)
    get_passphrase(PassphraseSources(file=path))
    assert "readable by others" in caplog.text
    assert "x" not in caplog.messages[0].split()  # the passphrase itself is never logged


def test_headless_without_keyring_or_tty_explains_every_source() -> None:
    # pytest's stdin is not a TTY, and the "fail" keyring stands for a box without one.
    with pytest.raises(PassphraseUnavailable, match=r"OTPSYNC_PASSPHRASE.*passphrase-file"):
        get_passphrase(PassphraseSources())


# --- secrets stay put (issue 9) ----------------------------------------------------------------


def test_a_passphrase_that_is_not_utf8_is_a_clear_error_from_every_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "latin1"
    raw.write_bytes(b"caf\xe9\n")
    raw.chmod(0o600)
    with pytest.raises(PassphraseUnavailable, match=r"--passphrase-file .* is not valid UTF-8"):
        get_passphrase(PassphraseSources(file=raw, use_keyring=False, interactive=False))
    cmd = command(tmp_path, "import sys; sys.stdout.buffer.write(b'caf\\xe9')")
    with pytest.raises(PassphraseUnavailable, match="passphrase_command is not valid UTF-8"):
        get_passphrase(PassphraseSources(command=cmd, use_keyring=False, interactive=False))
    monkeypatch.setenv("OTPSYNC_PASSPHRASE", "caf\udce9")  # how Python sees the bytes caf\xe9
    with pytest.raises(PassphraseUnavailable, match=r"\$OTPSYNC_PASSPHRASE is not valid UTF-8"):
        get_passphrase(PassphraseSources(use_keyring=False, interactive=False))


def test_the_passphrase_command_does_not_see_our_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "env.json"
    cmd = command(
        tmp_path,
        f"import json, os; open({str(seen)!r}, 'w').write(json.dumps(dict(os.environ)));"
        " print('from the command')",
    )
    monkeypatch.setenv("OTPSYNC_PASSPHRASE", "")  # set but empty: the command is asked
    monkeypatch.setenv("OTPSYNC_HOME", str(tmp_path))
    found = get_passphrase(PassphraseSources(command=cmd, use_keyring=False, interactive=False))
    assert found == ("from the command", "passphrase_command")
    env = json.loads(seen.read_text())
    assert "OTPSYNC_PASSPHRASE" not in env
    assert env["OTPSYNC_HOME"] == str(tmp_path)  # not a secret: left alone

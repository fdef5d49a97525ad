"""Left alone for years (issue 10): faults, retries, bursts and lost state never stop the
daemon or fool it. Real filesystems (a small tmpfs, a read-only bind mount), real
subprocesses, real daemons; every wait bounded and on something observable."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from daemon.cli import SIGPIPE_EXIT
from daemon.exporters.otpauth import uri_list
from tests.conftest import Home, base_env, otpsync_argv
from tests.daemon_support import code

MakeHome = Callable[..., Home]


# --- a closed pipe is not an error ------------------------------------------------------------


def with_codes(home: Home, tmp_path: Path, n: int) -> Home:
    """``home`` holding codes 0…n-1 (one ``import`` of an otpauth list: one process, not n)."""
    uris = tmp_path / "codes.txt"
    uris.write_bytes(uri_list(code(i) for i in range(n)))
    home.ok("import", str(uris), "--yes")
    return home


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(
    make_home: MakeHome, tmp_path: Path
) -> None:
    home = with_codes(make_home("laptop"), tmp_path, 3)
    read_end, write_end = os.pipe()
    os.close(read_end)  # whatever otpsync writes meets a closed pipe, deterministically
    try:
        done = subprocess.run(
            [*otpsync_argv(), "list"], stdout=write_end, stderr=subprocess.PIPE, text=True,
            env=base_env(OTPSYNC_HOME=str(home.path), OTPSYNC_PASSPHRASE=home.passphrase),
            timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == SIGPIPE_EXIT


def test_list_piped_into_head_prints_its_first_lines_and_nothing_else(
    make_home: MakeHome, tmp_path: Path
) -> None:
    home = with_codes(make_home("laptop"), tmp_path, 5000)
    script = '"$@" list | head -3; echo "exit ${PIPESTATUS[0]}"'
    done = subprocess.run(
        ["/bin/bash", "-c", script, "bash", *otpsync_argv()], capture_output=True, text=True,
        timeout=60,
        env=base_env(OTPSYNC_HOME=str(home.path), OTPSYNC_PASSPHRASE=home.passphrase),
        check=False,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert len(lines) == 4, done.stdout
    assert lines[0].startswith("ID")
    assert lines[-1] == f"exit {SIGPIPE_EXIT}"  # 5000 lines overflow the pipe
    assert done.stderr == ""

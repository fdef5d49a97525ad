"""The repository keeps its promises: ruff clean, and CI runs the README's test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_command(marker: str) -> str:
    lines = (ROOT / "README.md").read_text().splitlines()
    return lines[lines.index(marker) + 2]  # the line after the ```sh fence


def test_ci_runs_the_readme_test_command() -> None:
    command = readme_command("<!-- test command -->")
    assert command.startswith("python3 -m venv .venv")
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_ruff_is_clean() -> None:
    for args in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

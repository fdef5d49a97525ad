"""Imports flow one way: tray → service → stores → core. The core does no I/O."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import LAZY_IN_THE_TRAY

ROOT = Path(__file__).resolve().parents[1]
# What the pure core may import: its own modules, our errors, arithmetic and crypto libraries.
CORE_ALLOWED = {
    "__future__", "base64", "binascii", "collections", "dataclasses", "datetime", "hashlib",
    "hmac", "json", "re", "typing", "urllib", "uuid", "struct", "zlib", "math", "pyotp",
    "cryptography", "daemon", "os", "unicodedata", "fnmatch",
}  # fmt: skip
# os only for os.urandom in backup_format; checked below.
# The tray drives the Daemon (runner) and reads the service's views; nothing below them.
TRAY_MAY_USE = {
    "daemon.runner", "daemon.service", "daemon.errors", "daemon.core.durations",
    "daemon.core.display",
}  # fmt: skip


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_imports_only_core_and_pure_libraries() -> None:
    for path in (ROOT / "daemon" / "core").glob("*.py"):
        for name in imports(path):
            assert name.split(".")[0] in CORE_ALLOWED, f"{path.name} imports {name}"
            if name.startswith("daemon."):
                assert name.startswith(("daemon.core", "daemon.errors")), f"{path.name}: {name}"


def test_core_uses_os_only_for_randomness() -> None:
    for path in (ROOT / "daemon" / "core").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                assert node.attr == "urandom", f"{path.name} uses os.{node.attr}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                raise AssertionError(f"{path.name} opens a file")


def test_nothing_below_the_cli_imports_it_and_the_tray_uses_only_the_service() -> None:
    for path in (ROOT / "daemon").rglob("*.py"):
        if path.relative_to(ROOT / "daemon").parts[0] != "cli":
            assert "daemon.cli" not in imports(path), path
    for path in (ROOT / "tray").rglob("*.py"):
        for name in imports(path):
            if name.startswith("daemon."):
                assert name in TRAY_MAY_USE, f"{path}: {name}"


def loaded(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a fresh interpreter holds in ``sys.modules`` after ``code``."""
    probe = f"{code}\nimport sys; print('\\n'.join(n for n in {names!r} if n in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_otpsync_run_loads_none_of_what_only_a_command_or_a_rare_event_needs() -> None:
    """What `otpsync run` imports before the tray starts: the whole parser (whose `import
    --help` lists every format, written only when asked for), the daemon and the tray. The
    running tray is checked too, at idle with a backup pending (tests/tray/test_tray_e2e.py)."""
    code = (
        "from daemon.cli import build_parser; build_parser().parse_args(['run'])\n"
        "import daemon.runner, tray.app, tray.backend"
    )
    assert loaded(code, LAZY_IN_THE_TRAY) == []

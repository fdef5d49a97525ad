"""How fast ``otpsync codes`` opens: process start → window on screen → codes shown.

A private Xvfb, a home with 50 codes and the default KDF (Argon2id 128 MiB, t=2, p=4: what a
person's vault costs), the passphrase given as the tray gives it (a pipe on stdin). The
window logs the moments it is mapped and filled (``-v``, CLOCK_MONOTONIC, the same clock
here); each run is closed with Esc.
Run: .venv/bin/python bench/bench_codes_window.py   (prints figures; asserts nothing)
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_daemon import start_xvfb

PASSPHRASE = "bench passphrase, not a real one"
RUNS = 10


def secret(n: int) -> str:
    return base64.b32encode(hashlib.sha256(f"bench-{n}".encode()).digest()[:20]).decode()


def otpsync() -> list[str]:
    exe = shutil.which("otpsync", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "daemon.cli"]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="otpsync-bench-codes-"))
    home, sync = root / "home", root / "sync"
    sync.mkdir()
    home.mkdir()
    (home / "config.toml").write_text(f'device = "bench"\nsync_folder = "{sync}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPSYNC_")}
    env.update(OTPSYNC_HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    setup = {**env, "OTPSYNC_PASSPHRASE": PASSPHRASE}
    subprocess.run([*otpsync(), "init"], env=setup, check=True, capture_output=True)
    uris = "".join(
        f"otpauth://totp/Service{n}:user{n}?secret={secret(n)}&issuer=Service{n}\n"
        for n in range(50)
    )
    (root / "codes.txt").write_text(uris)
    subprocess.run([*otpsync(), "import", str(root / "codes.txt"), "--yes"], env=setup,
                   check=True, capture_output=True)  # fmt: skip
    xvfb, display = start_xvfb("1280x800x24")
    env["DISPLAY"] = display
    shown, filled = [], []
    try:
        for _ in range(RUNS):
            started = time.monotonic()
            proc = subprocess.Popen([*otpsync(), "-v", "codes", "--passphrase-stdin"],
                                    stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    stdout=subprocess.DEVNULL, env=env)  # fmt: skip
            assert proc.stdin is not None
            assert proc.stderr is not None
            proc.stdin.write(PASSPHRASE + "\n")
            proc.stdin.close()
            times: dict[str, float] = {}
            for line in proc.stderr:
                if m := re.search(r"window on screen \(monotonic ([\d.]+)\)", line):
                    times["shown"] = float(m.group(1))
                if m := re.search(r"codes shown \(monotonic ([\d.]+)\)", line):
                    times["filled"] = float(m.group(1))
                    break
            subprocess.run(["xdotool", "key", "Escape"], env=env, check=True)  # has the focus
            proc.wait(20)
            shown.append(times["shown"] - started)
            filled.append(times["filled"] - started)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
        shutil.rmtree(root)

    def figure(values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        return f"median {statistics.median(ms):.0f} ms, worst {ms[-1]:.0f} ms"

    print(f"otpsync codes, 50 codes, default KDF, {RUNS} runs:")
    print(f"  start → window on screen (search field focused): {figure(shown)}")
    print(f"  start → codes shown (vault opened, KDF included): {figure(filled)}")


if __name__ == "__main__":
    main()

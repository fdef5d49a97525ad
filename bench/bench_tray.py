"""Tray idle figures for the README: CPU per hour and RSS of ``otpsync run`` (the tray)
against a bare pystray icon, side by side on the same display in the same run.

A private Xvfb with trayer as the system tray, inside ``dbus-run-session`` (the bench starts
itself again under it). One GTK program is started on the display first and kept running:
the first GTK client of a fresh X server pays ~55 MB of one-time caches, which would
flatter whichever of the two measured processes started second. Then:

- the bare icon: pystray with the backend otpsync would choose, a 64 px image, a Quit item;
- the floor: the bare icon plus the libraries otpsync is built on, each doing its least
  (cryptography: one default Argon2id and an AES-GCM round trip; APScheduler running one
  job; a watchdog observer on one folder; filelock, platformdirs, pyotp): what no
  otpsync code can go below;
- ``otpsync run``: a home with 50 codes (default KDF), a peer device's backup in the folder.

After a warm-up (start-up scan, first menu), CPU time over ``--seconds`` is read from /proc
and scaled to an hour; RSS at the end. Prints both and the ratios; asserts nothing.
``--smaps`` adds where the tray's RSS beyond the bare icon's lives, per mapping
(/proc/PID/smaps: each shared library, the heap, anonymous memory).
Run: .venv/bin/python bench/bench_tray.py [--seconds 300] [--smaps]   (Linux, needs Xvfb,
trayer, dbus-run-session)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_daemon import (
    PASSPHRASE,
    Peer,
    code,
    cpu_seconds,
    make_home,
    memory_kib,
    service,
    start_xvfb,
)

WARM_UP = 30.0
PRIMER = """
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk
window = Gtk.Window(title="primer")
window.show_all()
Gtk.main()
"""
BARE_ICON = """
import sys
sys.path.insert(0, sys.argv[1])
from PIL import Image
from tray.backend import load_pystray
pystray = load_pystray()
icon = pystray.Icon("bare", Image.new("RGBA", (64, 64), (37, 99, 235, 255)), "bare",
                    menu=pystray.Menu(pystray.MenuItem("Quit", lambda i, _: i.stop())))
icon.run()
"""
FLOOR = BARE_ICON.replace(
    "icon = pystray.Icon",
    """
from datetime import UTC
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
import filelock, platformdirs, pyotp, watchdog.events, watchdog.observers
key = Argon2id(salt=bytes(16), length=32, iterations=2, lanes=4,
               memory_cost=131072).derive(b"floor")
sealed = AESGCM(key).encrypt(bytes(12), bytes(10_000), None)
AESGCM(key).decrypt(bytes(12), sealed, None)
scheduler = BackgroundScheduler(timezone=UTC)
scheduler.add_job(print, IntervalTrigger(hours=6))
scheduler.start()
observer = watchdog.observers.Observer()
observer.schedule(watchdog.events.FileSystemEventHandler(), sys.argv[2])
observer.start()
icon = pystray.Icon""",
    1,
)
REPO = Path(__file__).resolve().parents[1]


def wait_for_window(display: str, *search: str) -> None:
    """Until a window matching ``xdotool search`` args is mapped (the tray, the primer)."""
    subprocess.run(
        ["xdotool", "search", "--sync", "--onlyvisible", *search],
        env={**os.environ, "DISPLAY": display}, capture_output=True, timeout=30, check=True,
    )  # fmt: skip


def smaps_rss(pid: int) -> dict[str, int]:
    """Resident KiB per mapping name: a library's file name, [heap], [anon], [stack]…"""
    rss: dict[str, int] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].endswith(":"):  # a mapping's header: range perms … path
            name = Path(fields[5]).name if len(fields) > 5 else "[anon]"
        elif fields and fields[0] == "Rss:":
            rss[name] = rss.get(name, 0) + int(fields[1])
    return rss


def print_smaps(tray: int, bare: int, least_kib: int = 150) -> None:
    ours, theirs = smaps_rss(tray), smaps_rss(bare)
    diff = {n: ours.get(n, 0) - theirs.get(n, 0) for n in {*ours, *theirs}}
    print("   where otpsync run's RSS beyond the bare icon's lives (KiB, /proc/PID/smaps):")
    for name, kib in sorted(diff.items(), key=lambda item: -item[1]):
        if abs(kib) >= least_kib:
            print(f"      {kib:+7d}  {name}")
    rest = sum(kib for kib in diff.values() if abs(kib) < least_kib)
    print(f"      {rest:+7d}  the rest; in all {sum(diff.values()):+d}")


def measure(seconds: float, smaps: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="otpsync-bench-tray-"))
    procs: list[subprocess.Popen[bytes]] = []
    x, display = start_xvfb("1024x400x24", "-noreset")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPSYNC_")}
    env.update(DISPLAY=display, NO_AT_BRIDGE="1", GDK_BACKEND="x11")
    env.pop("WAYLAND_DISPLAY", None)
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
             "stderr": subprocess.DEVNULL}  # fmt: skip
    try:
        procs.append(subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
             "--height", "32", "--SetDockType", "true"], env=env, **quiet,
        ))  # fmt: skip
        wait_for_window(display, "--class", "trayer")
        procs.append(subprocess.Popen([sys.executable, "-c", PRIMER], env=env, **quiet))
        wait_for_window(display, "--name", "primer")  # up: the one-time caches are paid

        sync = root / "sync"
        sync.mkdir()
        home = make_home(root, "laptop", sync)
        svc = service(home)
        for i in range(50):
            svc.add(code(20_000 + i))
        two_hours_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        Peer("phone").write(sync, [code(i) for i in range(40)], two_hours_ago)

        bare = subprocess.Popen([sys.executable, "-c", BARE_ICON, str(REPO)], env=env, **quiet)
        floor = subprocess.Popen([sys.executable, "-c", FLOOR, str(REPO), str(root)], env=env,
                                 **quiet)  # fmt: skip
        exe = Path(sys.executable).parent / "otpsync"
        argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "daemon.cli"]
        tray = subprocess.Popen(
            [*argv, "run"], env={**env, "OTPSYNC_HOME": str(home),
                                 "OTPSYNC_PASSPHRASE": PASSPHRASE}, **quiet,
        )  # fmt: skip
        procs += [bare, floor, tray]
        runs = ((bare, "bare pystray icon"), (floor, "floor: + foundations"),
                (tray, "otpsync run (tray)"))  # fmt: skip
        time.sleep(WARM_UP)
        for proc, name in runs:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited early ({proc.returncode})")
        before = {p.pid: cpu_seconds(p.pid) for p, _ in runs}
        time.sleep(seconds)
        cpu = {p.pid: (cpu_seconds(p.pid) - before[p.pid]) * 3600 / seconds for p, _ in runs}
        rss = {p.pid: memory_kib(p.pid)["VmRSS"] / 1024 for p, _ in runs}
        print(f"tray idle over {seconds:g} s (50 codes, one peer device; primed display):")
        for proc, name in runs:
            print(f"   {name:21} CPU {cpu[proc.pid]:.2f} s/hour, RSS {rss[proc.pid]:.1f} MiB")
        print(f"   otpsync / bare: RSS {rss[tray.pid] / rss[bare.pid]:.2f}×,"
              f" CPU +{cpu[tray.pid] - cpu[bare.pid]:.2f} s/hour;"
              f" floor / bare: RSS {rss[floor.pid] / rss[bare.pid]:.2f}×")  # fmt: skip
        if smaps:
            print_smaps(tray.pid, bare.pid)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        x.terminate()
        x.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--smaps", action="store_true", help="where the extra RSS lives")
    args = parser.parse_args()
    if not os.environ.get("OTPSYNC_BENCH_BUS"):  # once more, on a private session bus
        os.environ["OTPSYNC_BENCH_BUS"] = "1"
        argv = ["dbus-run-session", "--", sys.executable, *sys.argv]
        os.execvp(argv[0], argv)  # noqa: S606 (no shell: the argv as it is)
    measure(args.seconds, args.smaps)


if __name__ == "__main__":
    main()

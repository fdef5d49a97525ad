"""Daemon figures for the README: pending latency, idle cost, start-up scan.

1. Latency from a settled file to a pending entry: 50 backups dropped one at a time into the
   sync folder of an in-process Daemon (settle = 0.2 s), p50/p95, and the same minus settle.
2. Idle CPU seconds over 60 s and RSS of ``otpsync run --headless`` subprocesses (default
   settings; native and polling side by side), read from /proc (Linux).
3. Start-up scan of 500 backups from 5 devices: Argon2 runs and wall time until all are
   processed.

Everything uses the default KDF (Argon2id 128 MiB, t=2, p=4), as a person's files would.
Run: .venv/bin/python bench/bench_daemon.py   (prints figures; asserts nothing about speed)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.core import backup_format, payload
from daemon.core.accounts import Account
from daemon.core.backup_format import KdfParams, MasterKeys
from daemon.core.filenames import backup_name
from daemon.core.payload import VaultData
from daemon.paths import Paths
from daemon.runner import Daemon, Event
from daemon.service import Service

PASSPHRASE = "bench passphrase, not a real one"
KDF = KdfParams()  # the defaults: what real backups cost
KEYS = MasterKeys(PASSPHRASE)
IDLE_SECONDS = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FAST = """
[export]
on_start = false
[watch]
settle = "0.2s"
"""


def code(n: int) -> Account:
    secret = hashlib.sha256(f"bench-code-{n}".encode()).digest()[:20]
    return Account.create(
        secret=base64.b32encode(secret).decode(), issuer=f"Service{n}", account=f"u{n}"
    )


@dataclass
class Peer:
    """Another device: one stable KDF salt, like a real otpsync install."""

    device: str
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    salt: bytes = field(default_factory=lambda: os.urandom(backup_format.SALT_BYTES))

    def write(
        self, folder: Path, codes: Iterable[Account], created: datetime, seq: int = 0
    ) -> Path:
        vault = VaultData(self.device_id, self.device, created, tuple(codes))
        data = backup_format.seal(
            payload.encode(vault), kind="backup", device_id=self.device_id,
            device=self.device, created=created, keys=KEYS, kdf_salt=self.salt, kdf=KDF,
            seq=seq,
        )  # fmt: skip
        path = folder / backup_name(created, self.device)
        path.write_bytes(data)
        return path


def start_xvfb(size: str, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """A private Xvfb on a free display (Xvfb picks it: -displayfd): (process, ":N")."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp", *extra],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_end)
    number = b""
    while not number.endswith(b"\n"):
        ready, _, _ = select.select([read_end], [], [], 15)
        if not ready:
            raise SystemExit("Xvfb did not start")
        number += os.read(read_end, 16)
    os.close(read_end)
    return proc, f":{int(number)}"


def make_home(root: Path, device: str, sync: Path, extra: str = "") -> Path:
    """An initialised home (config written the way a person would, then init)."""
    home = root / f"home-{device}"
    home.mkdir()
    (home / "config.toml").write_text(
        f'device = "{device}"\nsync_folder = "{sync}"\nkeyring = false\n{extra}'
    )
    service(home).init(None, None)
    return home


def service(home: Path) -> Service:
    pw = home.parent / "passphrase"
    if not pw.exists():
        pw.write_text(PASSPHRASE)
        pw.chmod(0o600)
    return Service(Paths.resolve(home), passphrase_file=pw, interactive=False)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- 1. latency -------------------------------------------------------------------------------


def bench_latency(root: Path, n: int = 50) -> None:
    sync = root / "sync-latency"
    sync.mkdir()
    home = make_home(root, "laptop", sync, FAST)
    daemon = Daemon(service(home))
    arrived: dict[str, float] = {}
    got = threading.Condition()

    def listen(event: Event) -> None:
        if event.kind == "pending":
            with got:
                arrived[event.data.entry.file] = time.monotonic()
                got.notify_all()

    daemon.add_listener(listen)
    daemon.start()
    phone = Peer("phone")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    latencies: list[float] = []
    try:
        for k in range(n + 1):  # the first pays phone's Argon2 run: reported apart
            path = phone.write(sync, [code(k)], base + timedelta(minutes=k))
            written = time.monotonic()
            with got:
                if not got.wait_for(lambda p=str(path): p in arrived, timeout=30):
                    raise SystemExit(f"no pending entry for {path.name} within 30 s")
            latencies.append(arrived[str(path)] - written)
    finally:
        daemon.stop()
    first, rest = latencies[0], latencies[1:]
    settle = daemon.cfg.watch.settle
    print(f"1. settled file → pending entry, {n} backups one at a time (settle {settle:g} s):")
    p50, p95 = statistics.median(rest), percentile(rest, 95)
    print(f"   p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (minus settle:"
          f" p50 {(p50 - settle) * 1000:.0f} ms, p95 {(p95 - settle) * 1000:.0f} ms)")  # fmt: skip
    print(f"   first backup from a new device (one Argon2 run): {first * 1000:.0f} ms")


# --- 2. idle cost -----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def spawn(home: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPSYNC_")}
    env.update(OTPSYNC_HOME=str(home), OTPSYNC_PASSPHRASE=PASSPHRASE)
    exe = Path(sys.executable).parent / "otpsync"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "daemon.cli"]
    return subprocess.Popen(
        [*argv, "run", "--headless"], env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def bench_idle(root: Path) -> None:
    """Two daemons with default settings, each on a folder holding 20 backups of 3 devices
    and 30 other files, after their start-up work: CPU over IDLE_SECONDS, and memory."""
    procs = {}
    for mode in ("native", "polling"):
        sync = root / f"sync-idle-{mode}"
        sync.mkdir()
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        for d in range(3):
            peer = Peer(f"dev{d}")
            for k in range(7 if d else 6):
                peer.write(
                    sync, [code(100 * d + i) for i in range(k + 1)], base + timedelta(hours=k)
                )
        for j in range(30):
            (sync / f"photo-{j}.jpg").write_bytes(os.urandom(4096))
        home = make_home(root, f"idle-{mode}", sync, f'[watch]\nmode = "{mode}"\n')
        svc = service(home)
        for i in range(50):
            svc.add(code(10_000 + i))
        procs[mode] = spawn(home)
    try:
        for mode, proc in procs.items():
            line = proc.stderr.readline().decode() if proc.stderr else ""
            if "running" not in line:
                raise SystemExit(f"{mode} daemon did not start: {line}")
        time.sleep(10)  # start-up scan, on_start export, first settles: not idle yet
        before = {m: cpu_seconds(p.pid) for m, p in procs.items()}
        time.sleep(IDLE_SECONDS)
        after = {m: cpu_seconds(p.pid) for m, p in procs.items()}
        print(f"2. idle `otpsync run --headless` (defaults; 50 codes; folder of 50 files),"
              f" over {IDLE_SECONDS} s:")  # fmt: skip
        for mode, proc in procs.items():
            rss, peak = (memory_kib(proc.pid)[k] / 1024 for k in ("VmRSS", "VmHWM"))
            print(f"   {mode:8} CPU {after[mode] - before[mode]:.2f} s,"
                  f" RSS {rss:.1f} MiB (peak {peak:.1f} MiB)")  # fmt: skip
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(30)


# --- 3. start-up scan -------------------------------------------------------------------------


def bench_startup_scan(
    root: Path, devices: int = 5, per_device: int = 100, seq: bool = True
) -> None:
    """A fresh home, a folder holding ``per_device`` backups of each of ``devices`` devices.
    With sequence numbers (``seq``) only each device's newest is decrypted; without (files
    from before them) every file is, as before."""
    label = "with sequence numbers" if seq else "v1-style, no sequence numbers"
    sync = root / f"sync-scan-{seq}"
    sync.mkdir()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    long_ago = time.time() - 86400
    for d in range(devices):
        peer = Peer(f"device{d}")
        for k in range(per_device):
            codes = [code(1000 * d + i) for i in range(k % 10 + 1)]
            path = peer.write(sync, codes, base + timedelta(hours=k), seq=k + 1 if seq else 0)
            os.utime(path, (long_ago, long_ago))  # there before the daemon started
    home = make_home(root, f"scanner-{seq}", sync, "[export]\non_start = false\n")
    svc = service(home)
    daemon = Daemon(svc)
    total = devices * per_device
    seen_file = home / "state" / "seen.json"
    opened = 0
    real_open = backup_format.open_sealed

    def counting_open(data: bytes, keys: backup_format.MasterKeys) -> tuple[object, bytes]:
        nonlocal opened
        opened += 1
        return real_open(data, keys)

    backup_format.open_sealed = counting_open  # type: ignore[assignment]
    started = time.perf_counter()
    daemon.start()
    try:
        while True:
            try:
                if len(json.loads(seen_file.read_text())) >= total:
                    break
            except (OSError, ValueError):
                pass
            if time.perf_counter() - started > 600:
                raise SystemExit("start-up scan did not finish within 10 minutes")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        daemon.stop()
        backup_format.open_sealed = real_open  # type: ignore[assignment]
    queued = len(service(home).pending())
    print(f"3. start-up scan of {total} backups from {devices} devices, {label}:"
          f" {elapsed:.2f} s until all processed, {svc.store.keys.kdf_runs} Argon2 runs"
          f" (1 for the vault + 1 per device), {opened} decryptions (the vault's included),"
          f" {queued} pending entries")  # fmt: skip


def main() -> None:
    """All figures; ``bench_daemon.py scan`` only the start-up scans."""
    only_scan = sys.argv[1:] == ["scan"]
    print(f"otpsync daemon bench — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs,"
          f" KDF {KDF.memory_kib // 1024} MiB t={KDF.iterations} p={KDF.lanes}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="otpsync-bench-") as tmp:
        root = Path(tmp)
        if not only_scan:
            bench_latency(root)
            bench_idle(root)
        bench_startup_scan(root, seq=True)
        bench_startup_scan(root, seq=False)


if __name__ == "__main__":
    main()

"""The long-running daemon: scheduled exports, the sync-folder watcher and the queue.

All work on the vault and on files happens on one worker thread, in order, so nothing races:
APScheduler's jobs, watchdog's events and the tray's clicks only put work on its queue. The
tray and ``otpsync run --headless`` drive a ``Daemon``; listeners hear about new pending
imports, merges, exports and errors. The CLI cooperates through files and locks: a change it
makes (``approve``, ``add``…) is noticed at once, by a native event on the file (LocalWatch),
with a slow stat rescan as the safety net.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import filelock
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from daemon.core.durations import format_duration
from daemon.core.payload import VaultData
from daemon.errors import AlreadyRunning, OtpsyncError, PassphraseUnavailable, WriteFailed
from daemon.fsutil import ensure_private_dir, write_atomic
from daemon.intake import describe_claims
from daemon.memory import Releaser
from daemon.notices import Coalescer, DeviceOffer, Notice
from daemon.other_passphrase import notice as other_passphrase_notice
from daemon.service import (
    Approved,
    DeviceView,
    Exported,
    ImportPreview,
    Outcome,
    PassphraseChanged,
    PendingView,
    Service,
)
from daemon.state import LastExport, heartbeat_stale, now_text
from daemon.watcher import LocalWatch, NativeWatch, SettleTracker, scan, stamp_of

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCAL_CHECK = 1.0  # without native events: how often to stat for changes the CLI made
LOCAL_RESCAN = 60.0  # with them: the safety rescan (and when a device may turn stale)
LOCKED_RETRY = 30.0  # waiting for the passphrase: how often to ask its sources again
LOCKED_PROBLEM = "passphrase unavailable: backups wait for it"
RETRY_MAX = 600.0  # the longest wait between two tries of a failing export
NOTIFY_LONGEST = 10  # a stream of backups is told at least every 10 × [watch] notify_after
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def retry_delay(failures: int, base: float, cap: float = RETRY_MAX) -> float:
    """Seconds until the next try after ``failures`` failed exports in a row: ``base``, then
    twice as long each time, never more than ``cap`` (nor less than ``base``)."""
    return min(base * 2.0 ** min(max(failures - 1, 0), 32), max(cap, base))


@dataclass(frozen=True, slots=True)
class Event:
    """What listeners hear: kind is pending (one backup queued), notify (what to tell the
    person about a burst of them: data is a ``notices.Notice``), merged, exported,
    passphrase (changed: data is a ``PassphraseChanged``), error or status."""

    kind: str
    message: str = ""
    data: Any = None


@dataclass(frozen=True, slots=True)
class CodeLabel:
    id: str
    issuer: str
    account: str
    type: str

    @property
    def label(self) -> str:
        if self.issuer and self.account:
            return f"{self.issuer} — {self.account}"
        return self.issuer or self.account or "(unnamed)"


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    """Everything a face (tray, status command) shows; no secret in it."""

    device: str
    sync_folder: Path
    watch_mode: str
    paused: bool = False
    last_export: LastExport | None = None
    next_export: datetime | None = None
    pending: tuple[PendingView, ...] = ()
    codes: tuple[CodeLabel, ...] = ()
    undo: str | None = None  # what undo would step back over ("import", "add", …), or None
    locked: bool = False  # started without the passphrase; nothing runs until it comes
    problem: str | None = None  # ongoing: folder missing, export failing
    last_error: tuple[str, str] | None = None  # (time, message) of the latest error
    export_retry: datetime | None = None  # a failed export is tried again then
    heartbeat: datetime | None = None  # when the worker last said it is alive
    heartbeat_every: float = 60.0
    claims: tuple[str, ...] = ()  # files claiming this device's id that it did not write
    other_passphrase: tuple[str, ...] = ()  # devices of ours that now use another passphrase
    devices: tuple[DeviceView, ...] = ()  # the other devices seen in the folder
    extra: dict[str, Any] = field(default_factory=dict)

    def unresponsive_since(self, now: datetime | None = None) -> datetime | None:
        """The last heartbeat, if the worker has missed several since (stuck or dead)."""
        return (
            self.heartbeat if heartbeat_stale(self.heartbeat, self.heartbeat_every, now) else None
        )


class Daemon:
    """One home's running otpsync. ``start`` → work on threads → ``stop``."""

    def __init__(self, service: Service) -> None:
        self.service = service
        cfg = service.config
        self.cfg = cfg
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._patterns = tuple(src.pattern for src in cfg.watch.sources)
        self._tracker = SettleTracker(cfg.watch.settle, cfg.watch.retries)
        self._listeners: list[Callable[[Event], None]] = []
        self._status = DaemonStatus(
            cfg.device, cfg.sync_folder, cfg.watch.mode, heartbeat_every=cfg.heartbeat
        )
        self._status_lock = threading.Lock()
        self._instance_lock = filelock.FileLock(
            service.state.daemon_lock, timeout=0, thread_local=False, mode=0o600
        )
        self._worker: threading.Thread | None = None
        self._watch: NativeWatch | None = None
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._paused = False
        self._export_due: float | None = None
        self._next_rescan = 0.0
        self._next_local_check = 0.0
        self._local_stamps: tuple[object, ...] | None = None
        self._local_watch: LocalWatch | None = None
        self._local_dirty = threading.Event()  # set on the observer's thread
        self._watch_failed = False
        self._locked = False
        self._next_unlock = 0.0
        self._problems: dict[str, str] = {}  # ongoing problems by kind; the latest is shown
        self._export_failures = 0  # failed exports in a row
        self._export_retry: float | None = None  # monotonic time of the next try
        self._last_beat = 0.0  # wall-clock time of the last heartbeat written
        self._pid_written = False
        quiet = cfg.watch.notify_after
        self._notices = Coalescer(quiet, NOTIFY_LONGEST * quiet)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, *, wait_for_passphrase: bool = False) -> None:
        """Take the home's daemon lock, check the passphrase, start threads. Raises
        AlreadyRunning, or the passphrase/vault error, before any thread starts.

        ``wait_for_passphrase`` (the tray, started at login): when no source gives the
        passphrase yet — a password manager or keyring still locked — start anyway, show
        the problem, and ask again every LOCKED_RETRY s and on ``unlock()``; exports and
        the watcher begin once it comes. Headless runs fail at once instead."""
        self.service.state.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self._instance_lock.acquire()
        except filelock.Timeout:
            pid = self._read_pid()
            raise AlreadyRunning(
                f"otpsync is already running (pid {pid or 'unknown'}) for this home"
            ) from None
        try:
            try:
                vault: VaultData | None = self.service.vault()  # the passphrase works, or…
            except PassphraseUnavailable as exc:
                if not wait_for_passphrase:
                    raise  # …we stop here
                vault, self._locked = None, True
                why = str(exc)
            self._write_pid()
            self.service.sweep_temp_files()
            self._write_status(
                pid=os.getpid(), started=now_text(), watch_mode=self.cfg.watch.mode,
                paused=False, last_error=None, next_export=None, export_failure=None,
            )  # fmt: skip
            if vault is None:
                log.warning("waiting for the passphrase: %s", why)
                self._set_status(locked=True)
                self._set_problem("locked", LOCKED_PROBLEM, report=False)
                self._write_status(last_error={"time": now_text(), "message": why})
                self._next_unlock = time.monotonic() + LOCKED_RETRY
            else:
                self._begin(vault)
            self._worker = threading.Thread(target=self._run, name="otpsync-worker", daemon=True)
            self._worker.start()
        except BaseException:
            self._shutdown()
            self._release()
            raise
        log.info(
            "started%s: device %s, sync folder %s, watch %s",
            " (waiting for the passphrase)" if self._locked else "",
            self.cfg.device, self.cfg.sync_folder, self.cfg.watch.mode,
        )  # fmt: skip

    def _begin(self, vault: VaultData) -> None:
        """With the vault open: scheduler, observer, the start-up scan and export. Called
        before the worker starts (or, after waiting for the passphrase, on it): either way
        one thread at a time writes state files. What they hear meanwhile waits in the
        queue."""
        self._set_status(codes=_labels(vault.accounts), undo=self.service.last_change())
        self._start_schedule()
        if self._paused:
            self._scheduler.pause()
        self._start_watch()
        self._start_local_watch()
        self._next_rescan = 0.0  # the startup scan: right away
        if self.cfg.export.on_start:
            self._queue.put(self._scheduled_export)

    def unlock(self) -> None:
        """Ask the passphrase sources again now (the tray's "Try the passphrase again")."""
        self._queue.put(lambda: self._try_unlock() if self._locked else None)

    def _try_unlock(self) -> None:
        self._next_unlock = time.monotonic() + LOCKED_RETRY
        try:
            vault = self.service.vault()
        except PassphraseUnavailable as exc:
            log.debug("still no passphrase: %s", exc)
            return
        except OtpsyncError as exc:  # e.g. the source gives a passphrase that is wrong
            self._set_problem("vault", f"cannot open the vault: {exc}")
            return
        log.info("the passphrase is available; starting backups and the watcher")
        self._locked = False
        self._set_status(locked=False)
        for kind in ("locked", "vault"):
            self._clear_problem(kind, quiet=True)  # listeners hear it from _refresh
        self._write_status(last_error=None)
        self._begin(vault)
        self._refresh(vault_changed=True)

    def stop(self) -> None:
        """Stop cleanly: no new work, the current job finishes (no half-written file)."""
        self._shutdown()
        self._release()
        log.info("stopped")

    def _shutdown(self) -> None:
        """Scheduler, then worker, then observer: the worker may (re)start the observer
        until it has stopped, so the observer goes last or it could outlive the daemon."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=60)
            self._worker = None
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        if self._local_watch is not None:
            self._local_watch.stop()
            self._local_watch = None

    def _release(self) -> None:
        if self._instance_lock.is_locked:
            self.service.state.pid_file.unlink(missing_ok=True)
            self.service.state.update_status(pid=None, next_export=None)
            self._instance_lock.release()

    def _write_pid(self) -> None:
        """daemon.pid is for people and ``status``; the lock is what keeps a second daemon
        out. A full disk must not stop the daemon from starting: try again later."""
        try:
            write_atomic(self.service.state.pid_file, f"{os.getpid()}\n".encode())
            self._pid_written = True
        except WriteFailed as exc:
            log.warning("%s; will try again", exc)

    def _read_pid(self) -> int | None:
        try:
            return int(self.service.state.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _start_schedule(self) -> None:
        ex = self.cfg.export
        trigger = (
            CronTrigger.from_crontab(ex.cron, timezone=datetime.now().astimezone().tzinfo)
            if ex.cron
            else IntervalTrigger(seconds=ex.every)
        )
        # coalesce + no grace limit: after a suspend, one export catches up, not N.
        self._scheduler.add_job(
            lambda: self._queue.put(self._scheduled_export), trigger, id="export",
            coalesce=True, max_instances=1, misfire_grace_time=None,
        )  # fmt: skip
        self._scheduler.start()
        self._refresh_next_export()

    def _start_watch(self) -> None:
        if self.cfg.watch.mode != "native" or not self.cfg.sync_folder.is_dir():
            return
        try:
            self._watch = NativeWatch(
                self.cfg.sync_folder, self.cfg.watch.recursive, self._notice, self._patterns
            )
            self._watch.start()
        except OSError as exc:  # e.g. inotify watch limit reached: rescans still work
            level = logging.DEBUG if self._watch_failed else logging.WARNING
            log.log(level, "native watching unavailable (%s); relying on rescans", exc)
            self._watch_failed = True
            self._watch = None

    def _local_files(self) -> list[Path]:
        svc = self.service
        return [svc.paths.vault_file, svc.inbox.index_file, svc.state.devices_file,
                svc.state.dir / "last_export.json"]  # fmt: skip

    def _start_local_watch(self) -> None:
        """Events on the files the CLI writes; without them (no inotify) the 1 s poll."""
        try:
            ensure_private_dir(self.service.inbox.dir)  # so its folder can be watched
            watch = LocalWatch(self._local_files(), self._local_changed)
            watch.start()
        except OSError as exc:
            log.warning("no file events for local changes (%s); checking every second", exc)
            return
        self._local_watch = watch

    def _local_changed(self) -> None:
        self._local_dirty.set()
        self._queue.put(_wake)

    def _ensure_watch(self) -> None:
        """Restart the native observer if it is not running. Removing the sync folder kills
        its watch for good (inotify follows the inode), so a folder that comes back (a drive
        mounted again, a client re-creating it) would otherwise only be seen by rescans."""
        if self.cfg.watch.mode != "native" or (self._watch is not None and self._watch.alive()):
            return
        if self._watch is not None:
            log.info("the native watch on the sync folder stopped; restarting it")
            self._watch.stop()
            self._watch = None
        self._start_watch()

    # --- what faces call (thread-safe) ------------------------------------------------------

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def status(self) -> DaemonStatus:
        with self._status_lock:
            return self._status

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on the worker thread; the Future carries its result or error."""
        fut: Future[T] = Future()

        def job() -> None:
            if not fut.set_running_or_notify_cancel():
                return
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

        self._queue.put(job)
        return fut

    def export_now(self) -> Future[Exported]:
        def run() -> Exported:
            try:
                done = self.service.export()
            except OtpsyncError as exc:
                self._export_failed(str(exc))
                raise
            self._after_export(done)
            return done

        return self.submit(run)

    def approve(self, entry_id: str, *, with_removals: bool = False) -> Future[Approved]:
        def run() -> Approved:
            result = self.service.approve(entry_id, with_removals=with_removals)
            # One refresh with the new codes: a status without the entry but with the old
            # codes would be a moment of "approved, yet not there".
            if result.exported:
                self._after_export(result.exported, vault_changed=True)
            else:
                if result.export_error:
                    self._export_failed(result.export_error)
                self._refresh(vault_changed=True)
            self._emit("merged", merged_message(result), result)
            return result

        return self.submit(run)

    def reject(self, entry_id: str) -> Future[PendingView]:
        def run() -> PendingView:
            view = self.service.reject(entry_id)
            self._refresh(vault_changed=True)
            return view

        return self.submit(run)

    def undo(self) -> Future[Any]:
        def run() -> Any:
            result = self.service.undo()
            self._refresh(vault_changed=True)
            return result

        return self.submit(run)

    def code(self, account_id: str) -> Future[Any]:
        """(account, code) for one id, computed on the worker (the tray never decrypts)."""

        def run() -> Any:
            for account, code in self.service.codes():
                if account.id == account_id:
                    return account, code
            raise OtpsyncError("that code is no longer in the vault")

        return self.submit(run)

    def add_codes(self, preview: Callable[[Service], ImportPreview]) -> Future[ImportPreview]:
        """Plan with ``preview`` (a QR picture, the screen, a pasted link) and merge its new
        codes, on the worker: the tray's "Add code" items. Undo steps back over it."""

        def run() -> ImportPreview:
            found = preview(self.service)
            if found.plan.of("new"):
                self.service.apply_import(found)
                self._refresh(vault_changed=True)
            return found

        return self.submit(run)

    def change_passphrase(
        self, new: str, *, current: str | None = None
    ) -> Future[PassphraseChanged]:
        """The tray's passphrase dialog, on the worker: re-seal everything under ``new``
        and go on with it, no restart. Proof first: ``current`` (the passphrase in use), or
        without it ``new`` must open the backups of a device that now uses it. Those
        backups are then read again, and offered as usual."""

        def run() -> PassphraseChanged:
            svc = self.service
            if current is not None:
                svc.check_current_passphrase(current)
            else:
                svc.device_opening_with(new)
            unopened = [Path(f) for _, f in svc.state.seen_of(("other-passphrase",))]
            done = svc.change_passphrase(new, by_daemon=True)
            for path in unopened:  # handed on again by the rescan, under the new keys
                self._tracker.forget(path)
            self._next_rescan = 0.0
            if done.backup is not None:
                self._export_works()
            self._refresh(vault_changed=True)
            self._emit("passphrase", "Passphrase changed", done)
            return done

        return self.submit(run)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume scheduled exports and the watcher (manual actions still work)."""

        def run() -> None:
            self._paused = paused
            if self._scheduler.running:  # not while waiting for the passphrase: see _begin
                if paused:
                    self._scheduler.pause()
                else:
                    self._scheduler.resume()
                self._next_rescan = 0.0
                self._export_due = time.monotonic()
            self._write_status(paused=paused)
            self._set_status(paused=paused)
            self._refresh_next_export()
            self._emit("status", "paused" if paused else "resumed")

        self._queue.put(run)

    # --- the worker --------------------------------------------------------------------------

    def _notice(self, path: Path) -> None:
        """Called on watchdog's thread for every candidate event."""
        self._tracker.notice(path, time.monotonic())
        self._queue.put(_wake)

    def _run(self) -> None:
        memory = Releaser()  # on this thread: it measures this thread's work
        while True:
            if self._queue.empty():  # about to wait: what a burst of work freed goes back
                memory.idle()
            timeout = max(0.0, self._next_wakeup() - time.monotonic())
            try:
                job = self._queue.get(timeout=timeout)
            except queue.Empty:
                job = _wake
            if job is None:
                return
            self._guarded(job)
            self._guarded(self._tick)

    def _guarded(self, job: Callable[[], None]) -> None:
        """Run one job; whatever it raises is reported and the worker carries on. Reporting
        cannot end the worker either (it never raises; if it did, that is logged)."""
        try:
            job()
        except OtpsyncError as exc:
            self._report(str(exc))
        except Exception:  # a bug: keep the daemon up, keep the traceback in the log
            log.exception("unexpected error in the worker")
            self._report("unexpected internal error (details in the log)")

    def _report(self, message: str) -> None:
        try:
            self._error(message)
        except Exception:
            log.exception("could not report an error (%s)", message)

    def _next_wakeup(self) -> float:
        """When the worker must look at its timers next. Paused, only the check for the
        CLI's changes counts: the rescan and settle deadlines wait for the resume (an
        overdue one would make every wait zero, a busy loop)."""
        now = time.monotonic()
        if self._locked:
            return self._next_unlock
        beat_due = now + max(0.0, self.cfg.heartbeat - (time.time() - self._last_beat))
        deadlines = [self._next_local_check, beat_due]
        if not self._paused:
            deadlines.append(self._next_rescan)
            if (settle := self._tracker.next_deadline()) is not None:
                deadlines.append(settle)
            if self._export_due is not None:
                deadlines.append(self._export_due)
            if self._export_retry is not None:
                deadlines.append(self._export_retry)
            if (tell := self._notices.deadline()) is not None:
                deadlines.append(tell)
        return min([*deadlines, now + 3600])

    def _tick(self) -> None:
        self._beat()
        now = time.monotonic()
        if self._locked:
            if now >= self._next_unlock:
                self._try_unlock()
            return
        if self._local_dirty.is_set() or now >= self._next_local_check:
            safety = not self._local_dirty.is_set()
            self._local_dirty.clear()  # an event from here on wakes the worker again
            self._next_local_check = now + (LOCAL_RESCAN if self._local_watch else LOCAL_CHECK)
            self._check_local_changes(safety)
        if self._paused:
            return
        if now >= self._next_rescan:
            interval = (
                self.cfg.watch.poll_interval if self.cfg.watch.mode == "polling"
                else self.cfg.watch.rescan
            )  # fmt: skip
            self._next_rescan = now + interval
            self._rescan(now)
        self._consider_due(self._tracker.due(time.monotonic()))
        if self._export_due is not None and time.monotonic() >= self._export_due:
            self._export_due = None
            self._scheduled_export(changed_only=True)
        if self._export_retry is not None and time.monotonic() >= self._export_retry:
            self._export_retry = None
            self._scheduled_export(changed_only=True)
        self._tell()

    def _tell(self) -> None:
        """The notification for a burst of queued backups, once it is over (notices.py):
        listeners hear one ``notify`` event, whose data is the ``Notice``."""
        pending = {v.entry.id for v in self.status().pending}
        notice: Notice | None = self._notices.due(time.monotonic(), pending)
        if notice is not None:
            self._emit("notify", notice.message, notice)

    def _beat(self) -> None:
        """The heartbeat: every ``[daemon] heartbeat`` (and with every status change),
        status.json says the worker is alive; ``status`` and the tray tell a stuck worker
        from a running one by it. Wall
        clock, so a resume from suspend beats at once; also what could not be written
        before (a full disk) is written now. Idle, the beat is the worker's only wakeup
        (``_next_wakeup``)."""
        now = time.time()
        if 0 <= now - self._last_beat < self.cfg.heartbeat:
            return
        if not self._pid_written:
            self._write_pid()
        self._write_status()

    def _consider_due(self, due: list[tuple[Path, bool]]) -> None:
        """Look at the settled files. One that fails (a full disk: its queue copy cannot be
        written) is forgotten, so the next rescan looks again: once there is room it is
        queued without a restart. Reported once while it lasts; the others go on."""
        if not due:
            return
        failures: list[str] = []

        def failed(path: Path, exc: Exception) -> None:
            self._tracker.forget(path)
            if not isinstance(exc, OtpsyncError):
                log.exception("unexpected error looking at %s", path.name)
            why = str(exc) if isinstance(exc, OtpsyncError) else "internal error (see the log)"
            failures.append(f"cannot take in {path.name}: {why}")

        handled: set[Path] = set()
        try:
            for outcome in self.service.consider_all(due, failed=failed):
                handled.add(outcome.path)
                self._handle(outcome)
                self._beat()  # a burst of files is one tick, but not a silent one
                self._tell()
        except Exception:
            for path, _ in due:  # those not looked at yet are looked at again
                if path not in handled:
                    self._tracker.forget(path)
            raise
        if failures:
            self._set_problem("intake", failures[-1])
        else:
            self._clear_problem("intake")

    def _rescan(self, now: float) -> None:
        """Stat the folder for candidates that events missed (or, polling, for all)."""
        if not self._folder_present():
            return
        self._ensure_watch()
        for path in scan(self.cfg.sync_folder, self.cfg.watch.recursive, self._patterns):
            self._tracker.notice(path, now, mtime_trusted=True)

    def _folder_present(self) -> bool:
        """Is the sync folder there? A missing one is reported once and stays the problem
        until it is back; then an export is due (our backups may have gone with it)."""
        folder = self.cfg.sync_folder
        if not folder.is_dir():
            self._set_problem("folder", f"sync folder {folder} is missing")
            return False
        if "folder" in self._problems:
            self._clear_problem("folder")
            log.info("sync folder is back")
            self._export_due = time.monotonic()
        return True

    def _handle(self, outcome: Outcome) -> None:
        if outcome.kind == "retry":
            log.info("%s does not open yet; will retry", outcome.path.name)
            self._tracker.retry(outcome.path, time.monotonic())
        elif outcome.kind == "queued" and outcome.entry and outcome.plan:
            self._refresh()
            n = len(outcome.plan.of("new"))
            u = len(outcome.plan.of("updated"))
            what = f"{n} new code{'s' if n != 1 else ''}" + (f", {u} updated" if u else "")
            log.info("queued backup from %s: %s", outcome.entry.device, what)
            entry = outcome.entry
            offer = DeviceOffer(entry.device, entry.device_id, entry.id, n, u)
            self._notices.add(offer, time.monotonic(), news=outcome.renotify)
            if outcome.renotify:
                self._emit("pending", f"Backup from {outcome.entry.device}: {what}", outcome)
        elif outcome.kind in ("damaged", "wrong-passphrase"):
            self._error(outcome.message)
        elif outcome.kind == "other-passphrase":  # not an error: shown until it is resolved
            log.warning("%s", outcome.message)
            self._refresh()
        elif outcome.kind in ("forged", "identity-clash"):
            self._error(outcome.message)
            self._refresh()
        elif outcome.kind == "deferred":  # KDF budget spent: a later rescan tries it again
            log.warning("%s", outcome.message)
            self._tracker.forget(outcome.path)
        elif outcome.kind == "unreadable":
            # Someone put a FIFO or a link out of the folder under a backup's name: say so in
            # the log, but do not let whoever can write there raise alarms on every rescan.
            log.warning("%s", outcome.message)
        else:
            log.debug("%s: %s", outcome.path.name, outcome.kind)

    def _check_local_changes(self, safety: bool = False) -> None:
        """The CLI may have changed the vault, the queue or the records of devices and
        exports: refresh, and export soon. ``safety`` (the slow rescan): also see whether a
        device has turned stale since."""
        stamps = tuple(stamp_of(path) for path in self._local_files())
        if stamps == self._local_stamps:
            if safety and tuple(self.service.devices()) != self.status().devices:
                self._refresh()
            return
        vault_changed = self._local_stamps is None or stamps[0] != self._local_stamps[0]
        first = self._local_stamps is None
        self._local_stamps = stamps
        self._refresh(vault_changed=vault_changed)
        if vault_changed and not first:
            self._export_due = time.monotonic() + self.cfg.export.debounce

    def _scheduled_export(self, changed_only: bool = False) -> None:
        """A scheduled export, one after a change, or a retry. A failure is an ongoing
        problem: reported once while it lasts, and tried again with backoff."""
        if self._paused:
            return
        self._refresh_next_export()
        if not self._folder_present():
            return  # reported as missing; the export is due again when it is back
        try:
            self.service.sweep_temp_files()
            done = self.service.export_if_changed(always_check=changed_only)
        except OtpsyncError as exc:
            self._export_failed(str(exc))
            return
        if done is not None:
            self._after_export(done)
        else:
            self._export_works()  # nothing to write: the last backup is there and current

    def _export_failed(self, message: str) -> None:
        """Try again in ``[export] retry`` s, then twice as long each time, ≤ RETRY_MAX."""
        self._export_failures += 1
        delay = retry_delay(self._export_failures, self.cfg.export.retry)
        self._export_retry = time.monotonic() + delay
        next_try = datetime.now(UTC) + timedelta(seconds=delay)
        log.info("export failed (%d in a row); next try in %s", self._export_failures,
                 format_duration(delay))  # fmt: skip
        self._set_status(export_retry=next_try)
        self._write_status(export_failure={
            "time": now_text(), "message": message, "failures": self._export_failures,
            "next_try": next_try.strftime(_TIME),
        })  # fmt: skip
        self._set_problem("export", f"export failed: {message}")

    def _export_works(self) -> None:
        if self._export_failures:
            log.info("export works again after %d failed tries", self._export_failures)
            self._export_failures, self._export_retry = 0, None
            self._set_status(export_retry=None)
            self._write_status(export_failure=None)
        self._clear_problem("export")

    def _after_export(self, done: Exported, *, vault_changed: bool = False) -> None:
        self._export_works()
        self._refresh(vault_changed=vault_changed)
        self._emit("exported", f"Backed up {done.codes} codes to {done.path.name}", done)

    # --- status -----------------------------------------------------------------------------

    def _refresh(self, vault_changed: bool = False) -> None:
        before = {Path(v.entry.file) for v in self.status().pending}
        index_stamp = stamp_of(self.service.inbox.index_file)  # before reading: see below
        pending = tuple(self.service.pending())
        if self._local_stamps is not None:  # what we just read: a later change is the CLI's
            vault, _index, *records = self._local_stamps  # the order of _local_files()
            self._local_stamps = (vault, index_stamp, *records)
        # An entry gone without a word (its index or copy lost, or approved, rejected…):
        # hand its file on again at the next rescan; consider() knows what it was.
        for path in before - {Path(v.entry.file) for v in pending}:
            self._tracker.forget(path)
        claims = describe_claims(self.cfg.device, self.service.own_claims())
        other = tuple(sorted(self.service.other_passphrase.devices().values()))
        claims += [other_passphrase_notice(name) for name in other]
        changes: dict[str, Any] = {"pending": pending, "claims": tuple(claims),
                                   "other_passphrase": other,
                                   "last_export": self.service.state.last_export(),
                                   "devices": tuple(self.service.devices())}  # fmt: skip
        if vault_changed:
            changes["codes"] = _labels(self.service.vault().accounts)
            changes["undo"] = self.service.last_change()
        self._set_status(**changes)
        self._emit("status")

    def _refresh_next_export(self) -> None:
        job = self._scheduler.get_job("export") if self._scheduler.running else None
        nxt = job.next_run_time if job is not None and not self._paused else None
        self._set_status(next_export=nxt)
        self._write_status(next_export=nxt.isoformat() if nxt else None)

    def _set_status(self, **changes: Any) -> None:
        with self._status_lock:
            self._status = replace(self._status, **changes)

    def _set_problem(self, kind: str, text: str, *, report: bool = True) -> None:
        """An ongoing problem of ``kind`` (folder, export, intake, state, locked, vault):
        reported once when it begins; while it lasts its text is only kept up to date."""
        new = kind not in self._problems
        self._problems.pop(kind, None)
        self._problems[kind] = text  # last in the dict: the one shown
        self._set_status(problem=text)
        if new and report:
            self._error(text)

    def _clear_problem(self, kind: str, *, quiet: bool = False) -> None:
        if self._problems.pop(kind, None) is None:
            return
        self._set_status(problem=next(reversed(self._problems.values()), None))
        if not quiet:
            self._emit("status")

    def _write_status(self, **changes: Any) -> None:
        """status.json, with the heartbeat. It never raises: if the disk refuses, the state
        stays in memory (written by a later heartbeat) and that is one more problem."""
        beat = datetime.now(UTC).replace(microsecond=0)
        self._last_beat = time.time()
        self._set_status(heartbeat=beat)
        changes.update(heartbeat=beat.strftime(_TIME), heartbeat_every=self.cfg.heartbeat)
        state = self.service.state
        if not state.update_status(**changes):
            if "state" not in self._problems:
                self._set_problem("state", f"cannot record the daemon's state: {state.write_error}")
        elif (not state.unwritten or state.flush()) and "state" in self._problems:
            self._clear_problem("state")  # everything kept in memory is on disk now

    def _error(self, message: str) -> None:
        log.error("%s", message)
        stamp = now_text()
        self._set_status(last_error=(stamp, message))
        self._emit("error", message)  # first: a failure to write it down is told after it
        self._write_status(last_error={"time": stamp, "message": message})

    def _emit(self, kind: str, message: str = "", data: Any = None) -> None:
        event = Event(kind, message, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a listener failed on %s", kind)


def _wake() -> None:
    """A no-op job: it only makes the worker look at its timers."""


def _labels(accounts: Any) -> tuple[CodeLabel, ...]:
    return tuple(CodeLabel(a.id, a.issuer, a.account, a.type) for a in accounts)


def merged_message(result: Approved, shown: int = 3) -> str:
    """ "Merged 2 new codes from phone: GitHub — alice, Google — bob" (labels, never codes)."""
    n = len(result.added)
    text = f"Merged {n} new code{'s' if n != 1 else ''} from {result.entry.device}"
    labels = [a.label for a in result.added[:shown]]
    if n > shown:
        labels.append(f"{n - shown} more")
    if result.updated:
        text += f" ({len(result.updated)} updated)"
    if result.removed:
        text += f"; removed {len(result.removed)} removed there"
    return f"{text}: {', '.join(labels)}" if labels else text


def describe_next(moment: datetime | None) -> str:
    if moment is None:
        return "not scheduled"
    return f"in {format_duration((moment - datetime.now(UTC)).total_seconds())}"

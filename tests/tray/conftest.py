"""Fixtures for the tray tests: real homes, cloned from templates made once by the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.runner import Daemon
from tests.conftest import Home
from tests.daemon_support import Recorder
from tests.tray.support import (
    LAPTOP_CODES,
    PHONE_CODES,
    Running,
    Templates,
    XServer,
    drop,
    export_backup,
    service,
    standin_pystray,
    xvfb,
)
from tray.app import TrayApp
from tray.clipboard import Clipboard


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return Templates(tmp_path_factory.mktemp("templates"))


@pytest.fixture
def clone_home(templates: Templates, tmp_path: Path, sync_folder: Path) -> Callable[..., Home]:
    """clone_home("laptop", codes) → this test's own initialised home holding ``codes``
    (otpauth URIs), sharing the test's sync folder with the other homes it makes."""

    def clone(device: str, codes: tuple[str, ...] = ()) -> Home:
        return templates.clone(device, codes, tmp_path, sync_folder)

    return clone


@pytest.fixture
def tk_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[XServer]:
    """A private Xvfb as $DISPLAY, for the Tk windows the tray opens as child processes."""
    pytest.importorskip("tkinter")
    with xvfb() as server:
        monkeypatch.setenv("DISPLAY", server.display)
        yield server


@pytest.fixture
def running(clone_home: Callable[..., Home], tmp_path: Path) -> Iterator[Running]:
    """The laptop's real daemon, with a TrayApp on it (stand-in icon), and the phone's real
    backup (``otpsync export``) dropped into the sync folder and queued by the daemon."""
    laptop = clone_home("laptop", LAPTOP_CODES)
    phone = clone_home("phone", PHONE_CODES)
    daemon = Daemon(service(laptop))
    events = Recorder()
    daemon.add_listener(events)
    app = TrayApp(daemon, standin_pystray(), Clipboard(30))
    daemon.start()
    try:
        app.icon.visible = True
        drop(export_backup(phone, tmp_path / "phone-out"), laptop.sync)
        events.wait("pending")
        events.wait("notify")  # the burst (of one) is over: its notification is out
        yield Running(app, daemon, events, laptop, phone)
    finally:
        app.quit()
        daemon.stop()

"""Fixtures for the tray tests: real homes, cloned from templates made once by the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Home
from tests.tray.support import Templates, XServer, xvfb


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

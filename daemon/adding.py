"""Codes the person asks to add from a QR code: a picture file, the screen, a pasted link.

Each is planned like an import (``ImportPreview``, nothing changed yet) and merged with
``apply_import``: a snapshot first, so undo takes it back. Unlike an import, a code removed
here comes back (the person is adding it again, as ``add`` does), and a code already here
under other labels is left as it is: only new codes are added. ``Service`` mixes this in.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from daemon.core import merge
from daemon.core.merge import Change, MergePlan
from daemon.errors import BackupError, ImportFailed

if TYPE_CHECKING:
    from daemon.importers import qr_image
    from daemon.service import ImportPreview, Service


class Adding:
    """The part of ``Service`` that adds codes found in QR codes and pasted links."""

    def preview_qr(self: Service, source: Path) -> ImportPreview:
        """Plan adding the 2FA codes of every QR code in a picture file. Changes nothing."""
        from daemon.importers import qr_image  # the importers load when needed, not at start

        self.store  # noqa: B018 -- no vault: say so before reading the file
        data = self._read_import_file(source)
        try:
            found = qr_image.codes(qr_image.scan_bytes(data), "in the picture")
        except BackupError as exc:
            raise exc.located(source) from None
        return self._preview_added(source, "QR codes in a picture", found)

    def preview_screen(self: Service) -> ImportPreview:
        """Plan adding the 2FA codes of every QR code on every screen. The capture is never
        written anywhere and is dropped once read."""
        from daemon import screen
        from daemon.importers import qr_image

        self.store  # noqa: B018
        found = qr_image.QrScan()
        for picture in screen.capture():
            found += qr_image.scan(picture)
        codes = qr_image.codes(found, "on the screen")
        return self._preview_added(Path("screen"), "QR codes on the screen", codes)

    def preview_uri(self: Service, text: str) -> ImportPreview:
        """Plan adding the codes of pasted otpauth:// or otpauth-migration:// text."""
        from daemon.importers import migration, qr_image
        from daemon.importers.uris import OTPAUTH

        self.store  # noqa: B018
        schemes = (OTPAUTH, migration.SCHEME)
        links = tuple(t.strip() for t in text.splitlines() if t.strip().lower().startswith(schemes))
        if not links:
            raise ImportFailed("the clipboard holds no otpauth:// or otpauth-migration:// link")
        codes = qr_image.codes(qr_image.QrScan(links), "in the clipboard", item="link")
        return self._preview_added(Path("clipboard"), "pasted link", codes)

    def _preview_added(
        self: Service, source: Path, origin: str, found: qr_image.QrCodes
    ) -> ImportPreview:
        """Codes the person asked to add: removed ones come back (as ``add`` does), and only
        new codes are added; one already here under other labels is left as it is."""
        from daemon.service import ImportPreview  # defined there, with the other previews

        full = merge.plan(self.vault(), found.accounts, include_deleted=True)
        changes = tuple(
            Change("skipped", c.incoming, c.local, f"already here as {c.local.label}")
            if c.kind == "updated" and c.local is not None
            else c
            for c in full.changes
        )
        return ImportPreview(source, origin, MergePlan(changes, True), ignored=found.ignored)

"""One notification per burst: backups queued close together are told together.

A sync client catching up drops hundreds of backups at once; a device rewriting its backup
every few hundred milliseconds queues one after another. Telling each would bury the person
in notifications. The worker adds what it queued here and, once nothing new has come for
``quiet`` seconds (or ``longest`` after the first, so a steady stream is still told), takes
one ``Notice``: "Backup from phone: 3 new codes", or "3 devices: 12 new codes". The tray and
the headless printer both show that notice, never the raw stream. No I/O, no clock of its own
(the caller passes ``now``), no thread: the worker drives it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeviceOffer:
    """What one device's queued backup offers now (its latest entry: one per device)."""

    device: str
    device_id: str
    entry_id: str
    new: int
    updated: int


def _codes(n: int) -> str:
    return f"{n} new code{'s' if n != 1 else ''}"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification. It carries the devices and their pending entry ids, so actions on
    it (approve, reject) need nothing else; ``replaces`` names the device whose previous
    notification this one replaces (None for a summary of several devices)."""

    offers: tuple[DeviceOffer, ...]

    @property
    def entry_ids(self) -> tuple[str, ...]:
        return tuple(o.entry_id for o in self.offers)

    @property
    def replaces(self) -> str | None:
        return self.offers[0].device_id if len(self.offers) == 1 else None

    @property
    def message(self) -> str:
        new = sum(o.new for o in self.offers)
        updated = sum(o.updated for o in self.offers)
        what = _codes(new) + (f", {updated} updated" if updated else "")
        if len(self.offers) == 1:
            return f"Backup from {self.offers[0].device}: {what}"
        return f"{len(self.offers)} devices: {what}"


class Coalescer:
    """Holds offers until a burst is over. Not thread-safe: the worker alone uses it."""

    def __init__(self, quiet: float, longest: float) -> None:
        self.quiet, self.longest = quiet, max(longest, quiet)
        self._held: dict[str, DeviceOffer] = {}  # by device id, in order of first arrival
        self._first: float | None = None
        self._last: float | None = None

    def add(self, offer: DeviceOffer, now: float, *, news: bool = True) -> None:
        """A backup was queued. ``news`` False: it offers what that device's queued entry
        offered already — worth no notification of its own, but a held one must name the
        entry that replaced it."""
        if not news and offer.device_id not in self._held:
            return
        self._held[offer.device_id] = offer
        self._first = now if self._first is None else self._first
        self._last = now

    def deadline(self) -> float | None:
        """When the held offers are to be told (monotonic seconds), or None."""
        if self._first is None or self._last is None:
            return None
        return min(self._last + self.quiet, self._first + self.longest)

    def due(self, now: float, pending: set[str] | None = None) -> Notice | None:
        """The notice for the burst, once its deadline has passed (and forget it). Entries
        no longer in ``pending`` (approved, rejected meanwhile) are left out."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return None
        offers = tuple(o for o in self._held.values() if pending is None or o.entry_id in pending)
        self._held, self._first, self._last = {}, None, None
        return Notice(offers) if offers else None

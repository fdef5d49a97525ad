"""The pending-import queue: `pending`, `approve`, `reject`, `scan`."""

from __future__ import annotations

import argparse
import sys

from daemon.cli.common import describe, log, print_json, say
from daemon.core.display import count
from daemon.errors import UsageError
from daemon.service import PendingView, Service


def _pending_line(view: PendingView) -> str:
    counts = view.plan.counts()
    extra = f", {counts['updated']} updated" if counts["updated"] else ""
    if view.removed:
        extra += f", {len(view.removed)} removed there"
    return (
        f"{view.entry.id}  from {view.entry.device} · {count(counts['new'], 'new code')}"
        f"{extra} · {view.entry.created.replace('T', ' ').removesuffix('Z')} UTC"
    )


def cmd_pending(svc: Service, args: argparse.Namespace) -> int:
    views = svc.pending()
    if args.json:
        print_json([v.to_json() for v in views])
        return 0
    for line in svc.other_passphrase.notices():
        say(f"warning: {line}", err=True)
    if not views:
        print("No pending imports.", file=sys.stderr)
    for view in views:
        say(_pending_line(view))
        for change in view.offered():
            print(describe(change))
        if view.removed:
            say(f"  removed on {view.entry.device} (approve keeps them; --with-removals removes):")
            for account in view.removed:
                say(f"  - {account.label}  {account.id[:8]}")
    return 0


def _chosen(svc: Service, args: argparse.Namespace) -> list[str]:
    if args.all == bool(args.id):
        raise UsageError("give a pending import's ID or --all (see `otpsync pending`)")
    if args.all:
        return [v.entry.id for v in svc.pending()]
    return [args.id]


def cmd_approve(svc: Service, args: argparse.Namespace) -> int:
    ids = _chosen(svc, args)
    if not ids:
        print("No pending imports.", file=sys.stderr)
    for entry_id in ids:
        done = svc.approve(entry_id, with_removals=args.with_removals)
        say(
            f"Merged from {done.entry.device}: {count(len(done.added), 'new code')},"
            f" {len(done.updated)} updated."
        )
        for account in done.added:
            say(f"  + {account.label}")
        for account in done.updated:
            say(f"  ~ {account.label}")
        if done.removed:
            say(f"Removed {count(len(done.removed), 'code')} removed on {done.entry.device}"
                " (`otpsync undo` brings them back):")  # fmt: skip
            for account in done.removed:
                say(f"  - {account.label}")
        if done.declined:
            say(f"Kept {count(len(done.declined), 'code')} removed on {done.entry.device};"
                " that removal is not offered again:")  # fmt: skip
            for account in done.declined:
                say(f"  = {account.label}")
        if done.export_error:
            log.warning("merged, but the backup after it failed: %s", done.export_error)
    return 0


def cmd_reject(svc: Service, args: argparse.Namespace) -> int:
    ids = _chosen(svc, args)
    if not ids:
        print("No pending imports.", file=sys.stderr)
    for entry_id in ids:
        view = svc.reject(entry_id)
        say(
            f"Rejected the backup from {view.entry.device}; its"
            f" {count(len(view.offered()), 'code')} will not be offered again by it."
        )
    return 0


def cmd_scan(svc: Service, args: argparse.Namespace) -> int:
    outcomes = svc.scan_once()
    queued = [o for o in outcomes if o.kind == "queued"]
    for o in outcomes:
        if o.kind in ("damaged", "wrong-passphrase", "other-passphrase", "unreadable"):
            log.warning("%s", o.message)
    print(f"Looked at {count(len(outcomes), 'file')}; queued {len(queued)}.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("pending", help="backups from your other devices waiting for approval")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_pending)

    for name, func, what in (
        ("approve", cmd_approve, "merge a pending import (snapshot first; undo reverts it)"),
        ("reject", cmd_reject, "turn a pending import down; its codes are not offered again"),
    ):
        s = sub.add_parser(name, help=what)
        s.add_argument("id", nargs="?", help="the pending import's id (see `otpsync pending`)")
        s.add_argument("--all", action="store_true", help="every pending import")
        if name == "approve":
            s.add_argument(
                "--with-removals",
                action="store_true",
                help="also remove the codes the other device removed (snapshot first: undo"
                " brings them back); without it they are kept and not offered again",
            )
        s.set_defaults(func=func)

    s = sub.add_parser("scan", help="look through the sync folder once and queue new backups")
    s.set_defaults(func=cmd_scan)

"""Files in and out: `export` and `import`."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from daemon.cli.common import (
    ask_password,
    confirm,
    describe,
    interactive,
    log,
    read_password_file,
    say,
)
from daemon.core.display import count
from daemon.errors import UsageError
from daemon.service import ImportPreview, Service


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


UNENCRYPTED_FORMATS = ("otpauth", "aegis", "qr")
HELP_WIDTH = 100


def _new_password(args: argparse.Namespace) -> str | None:
    if args.password_file:
        return read_password_file(args.password_file)
    if not interactive():
        return None
    import getpass

    first = getpass.getpass("Password for the Aegis vault: ")
    if first != getpass.getpass("Repeat it: "):
        raise UsageError("the two passwords differ")
    return first


def _share_passphrase(args: argparse.Namespace) -> str:
    """The passphrase just for a share: from --share-passphrase-file, or asked twice."""
    if args.share_passphrase_file:
        return read_password_file(args.share_passphrase_file, "--share-passphrase-file")
    if not interactive():
        raise UsageError("--share needs --share-passphrase-file FILE (or a terminal to ask)")
    import getpass

    first = getpass.getpass("Passphrase just for this share (not your own): ")
    if first != getpass.getpass("Repeat it: "):
        raise UsageError("the two share passphrases differ")
    return first


def _export_share(svc: Service, args: argparse.Namespace, out: Path | None) -> int:
    if args.format != "4otp":
        raise UsageError("--share writes an encrypted otpsync file; leave out --format")
    if not args.only:
        raise UsageError("--share needs --only QUERY: share the few codes you mean to")
    if out is None:
        raise UsageError("--share needs --out DIR_OR_FILE outside the sync folder")
    done = svc.export_shared(out, only=args.only, passphrase=_share_passphrase(args))
    print(f"Wrote {count(done.codes, 'code')} sealed with the share passphrase:")
    say(str(done.path))
    print(
        "They import it with `otpsync import FILE --password-file FILE`; give them the"
        " passphrase another way than the file.",
        file=sys.stderr,
    )
    return 0


def cmd_export(svc: Service, args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser() if args.out else None
    if args.share:
        return _export_share(svc, args, out)
    if args.format == "4otp":
        done = svc.export(out, only=args.only)
        print(f"Wrote an encrypted backup of {count(done.codes, 'code')}:")
        say(str(done.path))
        return 0
    if out is None:
        raise UsageError(
            f"--format {args.format} writes a file for another app: give --out DIR_OR_FILE"
        )
    if args.format in UNENCRYPTED_FORMATS:
        target = out if out.is_dir() else out.parent
        if _inside(target, svc.config.sync_folder):
            raise UsageError(
                "refusing to write unencrypted codes into the sync folder; choose another --out"
            )
    password = _new_password(args) if args.format == "aegis-encrypted" else None
    done = svc.export_as(args.format, out, only=args.only, password=password)
    if args.format in UNENCRYPTED_FORMATS:
        log.warning(
            "%s holds your secrets UNENCRYPTED: anyone who reads it can make your codes."
            " Delete it when you are done.",
            done.path,
        )
    what = {"otpauth": "as otpauth:// URIs", "aegis": "as an Aegis vault",
            "aegis-encrypted": "as a password-protected Aegis vault",
            "qr": "as QR codes (one PNG each)"}[args.format]  # fmt: skip
    print(f"Wrote {count(done.codes, 'code')} {what}:")
    say(str(done.path))
    return 0


def _print_preview(preview: ImportPreview, shown_name: str) -> None:
    plan = preview.plan
    n = plan.counts()
    line = (
        f"{shown_name} holds {count(n['total'], 'code')}: {n['new']} new,"
        f" {n['present']} already here, {n['updated']} updated"
    )
    if n["skipped"]:
        line += f", {n['skipped']} skipped"
    say(line)
    say(f"  ({preview.origin})")
    for change in plan.of("new") + plan.of("updated") + plan.of("skipped"):
        print(describe(change))
    if plan.of("skipped") and not plan.include_deleted:
        print("  (codes removed here stay out; --include-deleted brings them back)")
    if preview.skipped:
        reasons = "; ".join(s.shown() for s in preview.skipped)
        print(f"  {len(preview.skipped)} not imported: {reasons}")


def cmd_import(svc: Service, args: argparse.Namespace) -> int:
    preview = svc.preview_import(
        Path(args.file),
        fmt=args.source_format,
        password=read_password_file(args.password_file) if args.password_file else None,
        ask_password=ask_password if interactive() else None,
        include_deleted=args.include_deleted,
        key_file=Service.read_key_file(Path(args.key_file).expanduser()) if args.key_file else None,
    )
    plan = preview.plan
    if not args.json:
        _print_preview(preview, args.file)
    merge_it = False
    if not plan.has_changes:
        print("Nothing to merge.", file=sys.stderr)
    elif args.dry_run:
        print("Dry run: nothing merged.", file=sys.stderr)
    elif args.yes:
        merge_it = True
    elif interactive() and not args.json:
        merge_it = confirm(
            f"Merge {len(plan.of('new'))} new and {len(plan.of('updated'))}"
            " updated codes into this vault?"
        )
    else:
        print("Preview only: run again with --yes to merge.", file=sys.stderr)
    if merge_it:
        svc.apply_import(preview)
        print(
            f"Merged {len(plan.of('new'))} new and {len(plan.of('updated'))} updated codes."
            " `otpsync undo` reverts it.",
            file=sys.stderr if args.json else sys.stdout,
        )
    if args.json:
        print(json.dumps(preview.counts()))
    return 0


def format_list() -> str:
    """Every --from name, what it reads, and what its encrypted form needs."""
    from daemon import importers

    rows = [("otpsync", "an otpsync backup; encrypted: your passphrase (or theirs)")]
    for name in sorted(importers.FORMATS):
        importer = importers.FORMATS[name]
        needs = f"; encrypted: {importer.needs}" if importer.needs else ""
        rows.append((name, importer.description + needs))
    width = max(len(name) for name, _ in rows) + 4
    lines = ["formats (--from NAME):"]
    for name, text in rows:
        lines.append(
            textwrap.fill(
                text,
                HELP_WIDTH,
                initial_indent=f"  {name:<{width - 2}}",
                subsequent_indent=" " * width,
                break_on_hyphens=False,
            )
        )
    aliases = ", ".join(f"{a} = {t}" for a, t in sorted(importers.ALIASES.items()))
    lines += ["", textwrap.fill(f"also: {aliases}", HELP_WIDTH, break_on_hyphens=False)]
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("export", help="write an encrypted backup (default: into the sync folder)")
    s.add_argument("--out", metavar="DIR_OR_FILE")
    s.add_argument(
        "--format",
        choices=["4otp", "otpauth", "aegis", "aegis-encrypted", "qr"],
        default="4otp",
        help="4otp: encrypted backup (default); otpauth: URI list; aegis: Aegis vault;"
        " aegis-encrypted: password-protected Aegis vault; qr: one PNG per code."
        " All but 4otp and aegis-encrypted are UNENCRYPTED",
    )
    s.add_argument("--only", metavar="QUERY", help="only the codes matching QUERY")
    s.add_argument("--password-file", metavar="FILE", help="aegis-encrypted: its password")
    s.add_argument(
        "--share",
        action="store_true",
        help="seal the --only codes with a passphrase just for this share (never yours);"
        " not into the sync folder",
    )
    s.add_argument(
        "--share-passphrase-file", metavar="FILE", help="--share: the share's passphrase"
    )
    s.set_defaults(func=cmd_export)

    s = sub.add_parser(
        "import",
        help="merge a backup or another app's export: only codes this device lacks are added",
        description=textwrap.fill(
            "Merge an otpsync backup, or another authenticator's export, into the vault. The"
            " format is detected from the content (--from NAME says it). An encrypted file's"
            " password comes from --password-file FILE, else otpsync asks in a terminal."
            " Entries otpsync cannot make (mOTP, Yandex, a value that is no secret) are"
            " listed as not imported; the rest merge.",
            HELP_WIDTH,
        ),
        epilog_from=format_list,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("file")
    s.add_argument(
        "--from",
        dest="source_format",
        default="auto",
        metavar="FORMAT",
        help="the file's format (default: detect it from the content)",
    )
    s.add_argument(
        "--password-file",
        metavar="FILE",
        help="the export's password (or another person's otpsync passphrase)",
    )
    s.add_argument(
        "--key-file",
        metavar="FILE",
        help="KeePass: the database's key file (with or without a password)",
    )
    s.add_argument("--yes", action="store_true", help="merge without asking")
    s.add_argument("--dry-run", action="store_true", help="only show what would change")
    s.add_argument("--json", action="store_true", help="print only the counts, as JSON")
    s.add_argument(
        "--include-deleted",
        action="store_true",
        help="also bring back codes removed on this device",
    )
    s.set_defaults(func=cmd_import)

"""Every third-party fixture in ../shared/fixtures/interop imports to exactly its expected
entries, is detected as its format by content, and refuses a wrong password.

Expectations come from manifest.json: the Aegis reference vectors plus each file's stated
adjustments (what the app really stores). Where we deliberately differ from Aegis's importer,
the adjustment says why.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
from typing import Any

import pyotp
import pytest

from daemon import importers
from daemon.core.otp import code_at
from daemon.errors import ImportFailed, PasswordRequired, UnknownFormat, WrongPassphrase
from tests.importers.support import (
    MANIFEST,
    SKIP_REASON,
    canonical,
    entry,
    expected,
    fixture,
    is_export,
    manifest,
)

# The format each file is, by content (glob on the manifest's file path).
FORMAT_OF = {
    "aegis-tests/plain.txt": "otpauth",
    "aegis-tests/ente_auth.txt": "otpauth",
    "aegis-tests/aegis_*.json": "aegis",
    "aegis-tests/vault/aegis_*.json": "aegis",
    "aegis-tests/andotp_*": "andotp",
    "aegis-tests/authenticator_plus.zip": "authenticator-plus",
    "aegis-tests/authy_*.xml": "authy",
    "aegis-tests/battle_net_authenticator.xml": "battlenet",
    "aegis-tests/bitwarden.*": "bitwarden",
    "aegis-tests/duo.json": "duo",
    "aegis-tests/freeotp_plus.json": "freeotp-plus",
    "aegis-tests/freeotp*.xml": "freeotp",
    "aegis-tests/google_authenticator.sqlite": "google-authenticator-db",
    "aegis-tests/microsoft_authenticator.sqlite": "microsoft-authenticator",
    "aegis-tests/proton_authenticator.json": "proton",
    "aegis-tests/steam*.json": "steam",
    "aegis-tests/stratum_*": "stratum",
    "aegis-tests/totp_authenticator*": "totp-authenticator",
    "aegis-tests/2fas_*": "2fas",
    "ente-tests/proton_*": "proton",
    "bitwarden-backup-decryptor-tests/*.json": "bitwarden",
    "proton-pass-common-tests/ente/encrypted.*": "ente",
    "proton-pass-common-tests/ente/encrypted_decrypted.txt": "otpauth",  # Ente's plain export
    "*.kdbx": "kdbx",
    "extract-otp-secrets-tests/example_export*.txt": "google-authenticator",
    "extract-otp-secrets-tests/test_plus_problem_export.txt": "google-authenticator",
    "extract-otp-secrets-tests/test_export_wrong_data.txt": "google-authenticator",
    "extract-otp-secrets-tests/url_list_output.txt": "otpauth",
    "proton-pass-common-tests/lastpass/*.json": "lastpass",
    "proton-pass-common-tests/pass/PassExport.zip": "proton-pass",
    "proton-pass-common-tests/bitwarden/*.json": "bitwarden",
    "bitwarden-backup-decryptor-tests/individual.json": "bitwarden",
}
# QR images (the codes window's issue): not yet here.
ELSEWHERE = (
    "*.png",
    "*.jpg",
    "*.jpeg",
    "*.bmp",
)
PLUS_PROBLEM_SECRETS = [
    "A4RFDYMF4GSLUIBQV4ZP67OJEZ2XUQVM",
    "SCDDZ7PW5MOZLE3PQCAZM7L4S35K3UDX",
    "TR76272RVYO6EAEY2FX7W7R7KUDEGPJ4",
    "N2ILWSXSJUQUB7S6NONPJSC62NPG7EXN",
]


def format_of(record: dict[str, Any]) -> str:
    if "WinAuth" in record["format"]:
        return "winauth"
    for pattern, name in FORMAT_OF.items():
        if fnmatch.fnmatch(record["file"], pattern):
            return name
    raise AssertionError(f"no format listed for {record['file']}")


def elsewhere(record: dict[str, Any]) -> bool:
    return any(fnmatch.fnmatch(record["file"], pattern) for pattern in ELSEWHERE)


def records(*, where: Any = lambda r: True) -> list[Any]:
    if not MANIFEST.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON))]
    chosen = [r for r in manifest()["fixtures"] if where(r)]
    later = pytest.mark.skip(reason="a format not on this branch (see ELSEWHERE)")
    return [
        pytest.param(
            r,
            id=r["file"] + (" (winauth)" if "WinAuth" in r["format"] else ""),
            marks=[later] if elsewhere(r) else [],
        )
        for r in chosen
    ]


# --- expected entries --------------------------------------------------------------------------


def vector(name: str) -> dict[str, Any]:
    v = manifest()["aegis_vectors"][name]
    return expected(
        type=v["type"],
        secret=v["secret"],
        issuer=v["issuer"],
        account=v["name"],
        algorithm=v["algorithm"],
        digits=v["digits"],
        period=v.get("period", 30),
        counter=v.get("counter", 0),
    )


def as_totp(e: dict[str, Any], *, algorithm: str | None = None, digits: int | None = None,
            period: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The same code re-typed as TOTP (apps that store no type/algorithm/digits/period)."""
    return expected(
        type="totp",
        secret=e["secret"],
        issuer=e["issuer"],
        account=e["account"],
        algorithm=algorithm or e["algorithm"],
        digits=digits or e["digits"],
        period=period or e.get("period", 30),
    )


def adjust(file: str, name: str, e: dict[str, Any]) -> dict[str, Any]:
    """The manifest's per-file adjustments: what each app really stores."""
    base = file.rsplit("/", 1)[-1]
    if base.startswith("authy_"):  # Authy stores no algorithm or period
        return {**e, "algorithm": "SHA1", "period": 30}
    if base.startswith("bitwarden") and name == "boeing":  # steam://SECRET in an item
        return {**e, "issuer": "Test Steam" if base.endswith(".json") else "Test 4", "account": ""}
    if base == "duo.json":  # no issuer; the HOTP counter is stored as 3
        return {**e, "issuer": "", **({"counter": 3} if e["type"] == "hotp" else {})}
    if base.startswith("freeotp") and not base.startswith("freeotp_v2") and "counter" in e:
        return {**e, "counter": e["counter"] - 1}  # FreeOTP stores the next counter minus one
    if base == "google_authenticator.sqlite":  # no algorithm/digits/period stored
        return {**e, "algorithm": "SHA1", "digits": 6, **({"period": 30} if "period" in e else {})}
    if base == "microsoft_authenticator.sqlite":
        return as_totp(e, algorithm="SHA1", digits=6, period=30)
    if base.startswith("steam"):
        return {**e, "issuer": "Steam"}
    if base.startswith("totp_authenticator"):
        # Stored: digits and period (as text), lower-case names, no algorithm. Aegis ignores
        # the stored digits/period; we honour them, they are what the app used.
        return {**e, "algorithm": "SHA1", "account": e["account"].lower()}
    if base == "2fas_authenticator.json":  # schema 1: no type/algorithm/digits/period
        return as_totp(e, algorithm="SHA1", digits=6, period=30)
    if base.startswith("2fas_authenticator_") and "v3" not in base and "v4" not in base:
        return as_totp(e, period=e.get("period", 30))  # schema 2: no token type
    # andotp_encrypted_old.bin stores "Deno - Deno:Mason"; Aegis keeps "Deno:Mason" as the
    # name, we drop the repeated issuer (as parse_uri does for labels). WinAuth: Aegis moves
    # the name into the issuer and names every entry "WinAuth"; WinAuth itself writes standard
    # Issuer:name labels, so we read them as any otpauth list and keep the issuer.
    return e


def migration_expected(file: str) -> list[dict[str, Any]]:
    base = file.rsplit("/", 1)[-1]
    if base == "test_plus_problem_export.txt":
        domain = "serenitylabs.co.uk"
        return [
            expected(type="totp", secret=s, issuer="SerenityLabs", account=f"test{i}@{domain}")
            for i, s in enumerate(PLUS_PROBLEM_SECRETS, 1)
        ]
    out = json.loads(fixture("extract-otp-secrets-tests/example_output.json"))
    if base == "example_export_only_totp.txt":
        out = [o for o in out if o["type"] == "totp"]
    if base == "url_list_output.txt":
        # As an otpauth label, "encoding: ¿äÄéÉ? (demo)" is Issuer:account (Key Uri Format);
        # only the migration payload keeps name and issuer apart.
        for o in out:
            if o["name"].startswith("encoding:"):
                o["issuer"], o["name"] = "encoding", o["name"].partition(": ")[2]
    return [
        expected(type=o["type"], secret=o["secret"], issuer=o["issuer"], account=o["name"],
                 counter=o["counter"] or 0)
        for o in out
    ]  # fmt: skip


def kdbx_issuer(e: dict[str, Any]) -> str:
    """KeePass: the issuer is the entry's title (what the person sees), not the URI's label."""
    return e.get("entry_title", e["issuer"])


def kdbx_account(e: dict[str, Any]) -> str:
    """KeePass: the username; KeePassXC's label says "none" where the username was empty."""
    return "" if "entry_title" in e and e["name"] == "none" else e["name"]


def expected_entries(record: dict[str, Any]) -> list[dict[str, Any]]:
    file = record["file"]
    if file.startswith("extract-otp-secrets-tests/"):
        return migration_expected(file)
    listed = record.get("expected_entries")
    if isinstance(listed, str):  # "same as <file> …"
        source = next(r for r in manifest()["fixtures"] if r["file"] in listed)
        listed = source["expected_entries"]
    if listed is not None:
        return [
            expected(type=e["type"], secret=e["secret"], issuer=kdbx_issuer(e),
                     account=kdbx_account(e), algorithm=e["algorithm"], digits=e["digits"],
                     period=e.get("period", 30), counter=e.get("counter", 0))
            for e in listed
        ]  # fmt: skip
    return [adjust(file, name, vector(name)) for name in record["expected_vectors"]]


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("record", records(where=lambda r: r["expected_count"] and is_export(r)))
def test_fixture_imports_exactly_its_entries(record: dict[str, Any]) -> None:
    key_file = fixture(record["keyfile"]) if record.get("keyfile") else None
    accounts = (
        importers.get(format_of(record))
        .parse(fixture(record["file"]), record["password"], key_file)
        .accounts
    )
    assert len(accounts) == record["expected_count"]
    want = expected_entries(record)
    assert len(want) == record["expected_count"]
    assert canonical([entry(a) for a in accounts]) == canonical(want)
    # The secrets make the codes the expected entries make (computed independently).
    moment = 1_742_298_622
    assert sorted(code_at(a, moment).code for a in accounts) == sorted(
        reference_code(e, moment) for e in want
    )


def reference_code(e: dict[str, Any], unix_time: int) -> str:
    """RFC 4226/6238 (and Steam's alphabet) from an expected entry, without daemon.core."""
    if e["type"] == "steam":
        return steam_reference(e["secret"], unix_time)
    key = base64.b32decode(e["secret"] + "=" * (-len(e["secret"]) % 8))
    counter = e["counter"] if e["type"] == "hotp" else unix_time // e["period"]
    digest = getattr(hashlib, e["algorithm"].lower())
    mac = hmac.new(key, counter.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10 ** e['digits']:0{e['digits']}d}"


@pytest.mark.parametrize("record", records(where=lambda r: "WinAuth" not in r["format"]))
def test_detect_by_content(record: dict[str, Any]) -> None:
    data = fixture(record["file"])
    if record["file"].endswith("andotp_encrypted_old.bin"):
        # Headerless random bytes: claimed by content alone it would swallow every binary
        # file, so only its password tells (AES-GCM authenticates; a wrong one fails).
        with pytest.raises(UnknownFormat):
            importers.detect(data)
        with pytest.raises(UnknownFormat):
            importers.detect(data, record["password"] + "x")
        assert importers.detect(data, record["password"]) == "andotp"
    elif is_export(record):
        assert importers.detect(data) == importers.get(format_of(record)).name
    else:
        with pytest.raises(UnknownFormat, match="not a format otpsync can import"):
            importers.detect(data)


@pytest.mark.parametrize("record", records(where=lambda r: r["expected_count"] and is_export(r)))
def test_needs_password_only_when_encrypted(record: dict[str, Any]) -> None:
    data = fixture(record["file"])
    name = importers.get(format_of(record)).name
    assert importers.needs_password(name, data) == bool(record["encrypted"])
    if record["encrypted"]:
        with pytest.raises(PasswordRequired):
            importers.get(name).parse(data, None)


@pytest.mark.parametrize("record", records(where=lambda r: r["encrypted"]))
def test_wrong_password(record: dict[str, Any]) -> None:
    importer = importers.get(format_of(record))
    given = record["password"] + "x"
    key_file = fixture(record["keyfile"]) if record.get("keyfile") else None
    with pytest.raises(WrongPassphrase, match="wrong password") as caught:
        importer.parse(fixture(record["file"]), given, key_file)
    assert given not in str(caught.value)  # (a password may be "password" itself)


# --- the deliberately malformed Google migration fixtures --------------------------------------


def needs_fixtures() -> None:
    if not MANIFEST.exists():
        pytest.skip(SKIP_REASON)


def test_migration_with_bad_data_is_a_clear_error() -> None:
    needs_fixtures()
    data = fixture("extract-otp-secrets-tests/test_export_wrong_data.txt")
    with pytest.raises(ImportFailed, match=r"line 1: the migration data is not a valid Google"):
        importers.parse(data)


@pytest.mark.parametrize("name", ["test_export_wrong_prefix.txt", "test_export_wrong_content.txt"])
def test_lines_that_are_not_uris_are_refused(name: str) -> None:
    needs_fixtures()
    data = fixture(f"extract-otp-secrets-tests/{name}")
    with pytest.raises(ImportFailed, match=r"line 1: not an otpauth:// or otpauth-migration"):
        importers.get("google-authenticator").parse(data)


def test_only_comments_is_an_empty_list() -> None:
    needs_fixtures()
    assert importers.get("otpauth").parse(
        fixture("extract-otp-secrets-tests/only_comments.txt")
    ) == importers.ImportResult(())


# --- codes ------------------------------------------------------------------------------------


def steam_reference(secret: str, unix_time: int) -> str:
    """Steam Guard written out independently of daemon.core.otp."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, (unix_time // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    chars = []
    for _ in range(5):
        value, index = divmod(value, 26)
        chars.append("23456789BCDFGHJKMNPQRTVWXY"[index])
    return "".join(chars)


@pytest.mark.parametrize("unix_time", [0, 59, 1_111_111_109, 2_000_000_000])
def test_codes_of_the_aegis_reference_entries_match_pyotp(unix_time: int) -> None:
    needs_fixtures()
    digests = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
    accounts = importers.parse(fixture("aegis-tests/aegis_plain.json")).accounts
    assert len(accounts) == 8 - 1  # every vector but battlenet
    for account in accounts:
        digest = digests[account.algorithm]
        if account.type == "totp":
            want = pyotp.TOTP(account.secret, digits=account.digits, digest=digest,
                              interval=account.period).at(unix_time)  # fmt: skip
        elif account.type == "hotp":
            want = pyotp.HOTP(account.secret, digits=account.digits, digest=digest).at(
                account.counter
            )
        else:
            want = steam_reference(account.secret, unix_time)
        assert code_at(account, unix_time).code == want, account.label

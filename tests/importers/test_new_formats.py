"""The formats issue 11 adds without a password: LastPass Authenticator, Proton Pass, and
Stratum / Authenticator Pro's HTML export (no upstream sample: built here exactly as the
app's HtmlBackup.cs and Authenticator.GetUri write it)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from daemon import importers
from daemon.errors import ImportFailed, UnknownFormat, UnsupportedImport
from tests.importers.support import fixture
from tests.importers.test_fixtures import needs_fixtures

SECRET = "4SJHB4GSD43FZBAI7C2HLRJGPQ"


# --- Proton Pass ----------------------------------------------------------------------------------


def test_proton_pass_zip_names_the_malformed_field_and_imports_the_rest() -> None:
    needs_fixtures()
    data = fixture("proton-pass-common-tests/pass/PassExport.zip")
    assert importers.detect(data) == "proton-pass"
    result = importers.parse(data)
    assert len(result.accounts) == 7
    [bad] = result.skipped
    assert bad.shown() == "Main TOTP and custom fields (the URI has no secret= parameter)"


def proton_pass_json(*items: dict[str, object]) -> bytes:
    vaults = {"share": {"name": "Personal", "items": list(items)}}
    return json.dumps(
        {"version": "1.30.0", "userId": "u", "encrypted": False, "vaults": vaults}
    ).encode()


def login(name: str, totp: str, *, username: str = "", state: int = 1) -> dict[str, object]:
    return {"itemId": name, "state": state, "data": {
        "metadata": {"name": name, "note": "", "itemUuid": "x"}, "extraFields": [],
        "type": "login",
        "content": {"itemEmail": "", "itemUsername": username, "password": "", "urls": [],
                    "totpUri": totp}}}  # fmt: skip


def test_proton_pass_json_alone_bare_secrets_and_the_trash() -> None:
    data = proton_pass_json(
        login("GitHub", SECRET, username="mason"),
        login("Old", f"otpauth://totp/Old:x?secret={SECRET}", state=2),  # in the trash
        login("No code", ""),
    )
    assert importers.detect(data) == "proton-pass"
    result = importers.parse(data)
    assert [(a.issuer, a.account, a.secret) for a in result.accounts] == [
        ("GitHub", "mason", SECRET)
    ]
    assert [s.shown() for s in result.skipped] == ["Old (in Proton Pass's trash)"]


def test_proton_pass_pgp_export_is_refused_with_what_to_do() -> None:
    with pytest.raises(UnsupportedImport, match="export without encryption"):
        importers.get("proton-pass").parse(b"-----BEGIN PGP MESSAGE-----\n\nwcBMA...\n")


def test_a_zip_without_proton_pass_data_is_not_proton_pass() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("other/data.json", "{}")
    with pytest.raises(ImportFailed, match=r"no 'Proton Pass/data\.json'"):
        importers.get("proton-pass").parse(buffer.getvalue())


# --- LastPass Authenticator -------------------------------------------------------------------


def test_lastpass_fixtures_are_detected_and_keep_the_shown_names() -> None:
    needs_fixtures()
    result = importers.parse(fixture("proton-pass-common-tests/lastpass/lastpass.json"))
    assert [(a.issuer, a.account) for a in result.accounts] == [
        ("issuer", "account name default"),
        ("other", ""),
        ("", "sha512 name"),
    ]  # fmt: skip  (issuerName/userName, not the original* fields)


# --- Stratum / Authenticator Pro HTML ---------------------------------------------------------

TEMPLATE = """<!doctype html>
<html>
    <head>
        <meta charset="utf-8">
        <title>Stratum Backup</title>
    </head>
    <body>
        <table>
            <tr>
                <th>Issuer</th>
                <th>Username</th>
                <th>OTP Auth URI</th>
                <th>QR Code</th>
            </tr>
            %ITEMS
        </table>
    </body>
</html>"""


def html_backup(*rows: tuple[str, str, str]) -> bytes:
    """As HtmlBackup.FromAuthenticators writes it: nothing HTML-escaped."""
    items = "".join(
        f"""<tr>
    <td>{issuer}</td>
    <td>{username}</td>
    <td><code>{uri}</code></td>
    <td><img src="data:image/png;base64,iVBORw0KGgo="></td>
</tr>
"""
        for issuer, username, uri in rows
    )
    return TEMPLATE.replace("%ITEMS", items).encode()


def test_stratum_html_export() -> None:
    data = html_backup(
        ("Deno", "Mason", f"otpauth://totp/Deno%3AMason?secret={SECRET}&issuer=Deno"),
        ("SPDX", "James", f"otpauth://totp/SPDX%3AJames?secret={SECRET}&issuer=SPDX"
                          "&algorithm=SHA256&digits=7&period=20"),
        ("Issuu", "James", f"otpauth://hotp/Issuu%3AJames?secret={SECRET}&issuer=Issuu"
                           "&counter=1"),
        ("Steam", "Sophia", f"otpauth://totp/Steam%3ASophia?secret={SECRET}&issuer=Steam"),
        ("Boeing", "Sophia", f"otpauth://totp/Boeing%3ASophia?secret={SECRET}&issuer=Boeing"
                             "&steam"),
        ("Yandex", "ivan", f"otpauth://yaotp/Yandex%3Aivan?secret={SECRET}&issuer=Yandex"
                           "&pin_length=4"),
        ("Bank", "x", "motp://Bank:x?secret=e3152afee62599c8"),
    )  # fmt: skip
    assert importers.detect(data) == "stratum"
    result = importers.parse(data)
    got = [(a.type, a.issuer, a.account, a.algorithm, a.digits, a.period, a.counter)
           for a in result.accounts]  # fmt: skip
    assert got == [
        ("totp", "Deno", "Mason", "SHA1", 6, 30, 0),
        ("totp", "SPDX", "James", "SHA256", 7, 20, 0),
        ("hotp", "Issuu", "James", "SHA1", 6, 30, 1),
        ("steam", "Steam", "Sophia", "SHA1", 5, 30, 0),
        ("steam", "Boeing", "Sophia", "SHA1", 5, 30, 0),
    ]
    assert [s.shown() for s in result.skipped] == [
        "Yandex — ivan (Yandex codes are not supported)",
        "Bank — x (mOTP codes are not supported)",
    ]


def test_stratum_html_re_saved_with_entities_still_reads() -> None:
    uri = f"otpauth://totp/Deno%3AMason?secret={SECRET}&amp;issuer=Deno&amp;digits=8"
    (account,) = importers.parse(html_backup(("Deno", "Mason", uri))).accounts
    assert (account.issuer, account.digits) == ("Deno", 8)


def test_an_html_page_without_otp_uris_is_no_stratum_export() -> None:
    with pytest.raises(UnknownFormat):
        importers.detect(b"<!doctype html><html><body><code>print()</code></body></html>")


# --- Ente Auth's plain export keeps its trash --------------------------------------------------


def test_codes_in_ente_auths_trash_stay_out() -> None:
    """Ente's getCodesForExport writes every code, trashed ones too, each with its
    codeDisplay; what the person deleted there must not come back here."""
    display = "%7B%22pinned%22%3Afalse%2C%22trashed%22%3A{}%7D"
    data = (
        f"otpauth://totp/Deno:Mason?secret={SECRET}&issuer=Deno&codeDisplay={display.format('false')}\n"
        f"otpauth://totp/Old:x?secret={SECRET}&issuer=Old&codeDisplay={display.format('true')}\n"
    ).encode()
    result = importers.parse(data)
    assert [a.issuer for a in result.accounts] == ["Deno"]
    assert [s.shown() for s in result.skipped] == ["Old — x (in Ente Auth's trash)"]


# --- secrets of no whole number of bytes -------------------------------------------------------


def test_a_secret_of_no_whole_number_of_bytes_is_read_as_the_apps_read_it() -> None:
    """LastPass and Proton accept "BDKSIEHWBDBBDBDZBZJ" (19 base32 characters: 95 bits). Like
    Google Authenticator they use the whole bytes and drop the 7 bits left over; so do we,
    and the code is the one an RFC 6238 computation over those 11 bytes gives."""
    import hashlib
    import hmac

    from daemon.core.otp import code_at

    text = "BDKSIEHWBDBBDBDZBZJ"
    entry = {"issuerName": "x", "userName": "y", "secret": text, "timeStep": 30, "digits": 6}
    doc = {"version": 3, "accounts": [entry]}
    (account,) = importers.parse(json.dumps(doc).encode()).accounts
    bits = "".join(f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.index(c):05b}" for c in text)
    key = int(bits[: len(bits) // 8 * 8], 2).to_bytes(len(bits) // 8, "big")
    moment = 1_742_298_622
    mac = hmac.new(key, (moment // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    value = int.from_bytes(mac[mac[-1] & 15 :][:4], "big") & 0x7FFFFFFF
    assert code_at(account, moment).code == f"{value % 10**6:06d}"

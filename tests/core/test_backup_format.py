"""The sealed format's guarantees that cost nothing to check, and the master-key cache."""

from __future__ import annotations

import hashlib
import os
import unicodedata
import uuid
from datetime import UTC, datetime

import pytest

from daemon.core import payload
from daemon.core.accounts import Account
from daemon.core.backup_format import (
    DEVICE_RE,
    KDF_BUDGET_KIB_PASSES,
    MAX_FILE_BYTES,
    KdfParams,
    MasterKeys,
    format_time,
    open_sealed,
    read_header,
    seal,
    sealed_size,
)
from daemon.core.filenames import NAME_RE, backup_name
from daemon.core.payload import VaultData
from daemon.errors import (
    DamagedFile,
    FileTooLarge,
    KdfOutOfBounds,
    NotABackup,
    TruncatedFile,
    UnsupportedVersion,
    WrongPassphrase,
)

KDF = KdfParams(memory_kib=1024, iterations=1, lanes=1)
NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


def sealed(keys: MasterKeys, salt: bytes, device: str = "laptop", n: int = 1) -> bytes:
    vault = VaultData(
        str(uuid.uuid5(uuid.NAMESPACE_DNS, device)),
        device,
        NOW,
        tuple(Account.create(secret="JBSWY3DPEHPK3PXP" + "A" * (i % 5), issuer=f"S{i}")
              for i in range(n)),
    )  # fmt: skip
    return seal(payload.encode(vault), kind="backup", device_id=vault.device_id, device=device,
                created=NOW, keys=keys, kdf_salt=salt, kdf=KDF)  # fmt: skip


def rechecksum(data: bytes) -> bytes:
    """Recompute the end line, as a deliberate tamperer would."""
    body = data[: data[:-1].rfind(b"\n") + 1]
    return body + f"end sha256={hashlib.sha256(body).hexdigest()}\n".encode()


def test_round_trip_and_header() -> None:
    keys = MasterKeys("pw")
    data = sealed(keys, os.urandom(16), n=3)
    header, raw = open_sealed(data, MasterKeys("pw"))
    assert (header.kind, header.device, header.created) == ("backup", "laptop", NOW)
    assert len(payload.decode(raw, expect_device_id=header.device_id).accounts) == 3
    assert data.startswith(b"otpsync-backup v2\n")
    assert data.isascii()


def test_many_backups_from_two_devices_cost_two_kdf_runs() -> None:
    writer_a, writer_b = MasterKeys("pw"), MasterKeys("pw")
    salt_a, salt_b = os.urandom(16), os.urandom(16)
    files = [sealed(writer_a, salt_a, "laptop") for _ in range(50)]
    files += [sealed(writer_b, salt_b, "phone") for _ in range(50)]
    reader = MasterKeys("pw")
    for data in files:
        open_sealed(data, reader)
    assert reader.kdf_runs == 2
    assert writer_a.kdf_runs == 1


def test_wrong_passphrase_is_told_apart_from_damage() -> None:
    data = sealed(MasterKeys("pw"), os.urandom(16))
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        open_sealed(data, MasterKeys("not it"))


def test_tampering_that_fixes_the_checksum_is_still_caught() -> None:
    data = sealed(MasterKeys("pw"), os.urandom(16))
    forged = rechecksum(data.replace(b"device: laptop", b"device: laptoq"))
    with pytest.raises(DamagedFile, match="tampered"):
        open_sealed(forged, MasterKeys("pw"))
    lines = data.split(b"\n")
    body_line = lines.index(b"") + 1
    flipped = bytearray(lines[body_line])
    flipped[5] = ord("A") if flipped[5] != ord("A") else ord("B")
    lines[body_line] = bytes(flipped)
    with pytest.raises(DamagedFile, match="tampered"):
        open_sealed(rechecksum(b"\n".join(lines)), MasterKeys("pw"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kdf-memory-kib", "4194304"),  # 4 GiB
        ("kdf-iterations", "1000"),
        ("kdf-lanes", "64"),
        ("kdf-memory-kib", "4"),
    ],
)
def test_absurd_kdf_parameters_are_refused_before_any_work(field: str, value: str) -> None:
    data = sealed(MasterKeys("pw"), os.urandom(16))
    lines = [
        (f"{field}: {value}".encode() if line.startswith(field.encode() + b":") else line)
        for line in data.split(b"\n")
    ]
    reader = MasterKeys("pw")
    with pytest.raises(KdfOutOfBounds, match=r"out of bounds|at least"):
        open_sealed(rechecksum(b"\n".join(lines)), reader)
    assert reader.kdf_runs == 0


def test_cheap_checks_come_first() -> None:
    keys = MasterKeys("pw")
    data = sealed(keys, os.urandom(16))
    with pytest.raises(NotABackup):
        open_sealed(b"hello world\n", keys)
    with pytest.raises(NotABackup):
        open_sealed(b"", keys)
    with pytest.raises(UnsupportedVersion, match="v2"):
        open_sealed(data.replace(b"otpsync-backup v2", b"otpsync-backup v3", 1), keys)
    with pytest.raises(TruncatedFile):
        open_sealed(data[: len(data) // 2], keys)
    with pytest.raises(FileTooLarge):
        open_sealed(data + b"x" * MAX_FILE_BYTES, keys)
    assert keys.kdf_runs == 1  # only the writer's own derivation


def test_read_header_needs_no_passphrase() -> None:
    data = sealed(MasterKeys("pw"), os.urandom(16), device="phone")
    header = read_header(data)
    assert header.device == "phone"
    assert header.kdf == KDF


def test_each_file_has_its_own_nonce_and_file_key() -> None:
    keys, salt = MasterKeys("pw"), os.urandom(16)
    a, b = sealed(keys, salt), sealed(keys, salt)
    ha, hb = read_header(a), read_header(b)
    assert ha.kdf_salt == hb.kdf_salt
    assert ha.nonce != hb.nonce
    assert ha.hkdf_salt != hb.hkdf_salt


DEVICE_ID = "6f1c0d1e-2f3a-4b5c-8d6e-7f8091a2b3c4"
KEYS, SALT = MasterKeys("pw"), bytes(16)  # shared below: one Argon2 run for all of them


def seal_raw(raw: bytes, kind: str = "backup") -> bytes:
    return seal(raw, kind=kind, device_id=DEVICE_ID, device="laptop", created=NOW, keys=KEYS,
                kdf_salt=SALT, kdf=KDF)  # fmt: skip


def edit(data: bytes, key: str, value: bytes) -> bytes:
    """Replace header ``key``'s value and fix the checksum."""
    prefix = key.encode() + b": "
    lines = [prefix + value if line.startswith(prefix) else line for line in data.split(b"\n")]
    return rechecksum(b"\n".join(lines))


def rewrap(data: bytes, widths: list[int]) -> bytes:
    """The same base64 body in lines of the given widths (the last width repeats)."""
    head, _, rest = data.partition(b"\n\n")
    text = b"".join(rest.split(b"\n")[:-2])
    lines: list[bytes] = []
    start = 0
    while start < len(text):
        width = widths[min(len(lines), len(widths) - 1)]
        lines.append(text[start : start + width])
        start += width
    return rechecksum(head + b"\n\n" + b"".join(line + b"\n" for line in lines) + b"end\n")


# --- the writer writes only what its reader reads ------------------------------------------------


@pytest.mark.parametrize("device", ["laptop\n", "lap\ttop", "laptop\r", "-laptop", "x" * 33, ""])
def test_seal_refuses_a_bad_device_name(device: str) -> None:
    assert not DEVICE_RE.match(device)
    with pytest.raises(ValueError, match="device name"):
        sealed(MasterKeys("pw"), os.urandom(16), device=device)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "backup\n"}, "kind"),
        ({"kind": "vault\r"}, "kind"),
        ({"device_id": DEVICE_ID + "\n"}, "device id"),
        ({"device_id": DEVICE_ID.upper()}, "device id"),
        ({"device_id": "{" + DEVICE_ID + "}"}, "device id"),
        ({"kdf_salt": b"short"}, "salt"),
    ],
)
def test_seal_refuses_header_values_its_reader_would_refuse(
    change: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "kind": "backup",
        "device_id": DEVICE_ID,
        "device": "laptop",
        "created": NOW,
        "keys": KEYS,
        "kdf_salt": SALT,
        "kdf": KDF,
    }
    with pytest.raises(ValueError, match=message):
        seal(b"{}", **{**args, **change})  # type: ignore[arg-type]


def test_file_names_must_match_whole() -> None:
    name = backup_name(NOW, "laptop")
    assert NAME_RE.match(name)
    assert not NAME_RE.match(name + "\n")
    assert not NAME_RE.match(name.replace("2026", "٢٠٢٦"))  # \d would take these digits


@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 58, 1000])
def test_sealed_size_is_exact(size: int) -> None:
    data = seal_raw(b"x" * size)
    assert len(data) == sealed_size(data.index(b"\n\n") + 2, size)


def test_seal_fills_the_size_cap_and_refuses_one_byte_more() -> None:
    # The header of an empty payload says "payload-bytes: 16"; a 12 MB one has 6 more digits.
    header = seal_raw(b"").index(b"\n\n") + 2 + 6
    largest = 12_419_000
    while sealed_size(header, largest + 1) <= MAX_FILE_BYTES:
        largest += 1
    data = seal_raw(b"\0" * largest)
    assert len(data) == sealed_size(header, largest) <= MAX_FILE_BYTES
    assert open_sealed(data, KEYS)[1] == b"\0" * largest
    with pytest.raises(FileTooLarge, match=r"^the vault would be 16\.0 MiB, over the 16 MiB a"):
        seal_raw(b"\0" * (largest + 1), kind="vault")
    with pytest.raises(FileTooLarge, match=r"^the backup would be 17\.6 MiB, over the 16 MiB a"):
        seal_raw(b"\0" * 13_660_000)


# --- error categories: cut short, CRLF, a malformed end line -------------------------------------


@pytest.mark.parametrize("n", range(1, 18))
@pytest.mark.parametrize("version", [b"v1", b"v2"])
def test_a_cut_inside_the_magic_line_is_truncated(n: int, version: bytes) -> None:
    with pytest.raises(TruncatedFile, match="first line"):
        open_sealed((b"otpsync-backup " + version + b"\n")[:n], KEYS)


def test_an_empty_file_is_not_a_backup() -> None:
    with pytest.raises(NotABackup):
        open_sealed(b"", KEYS)


@pytest.mark.parametrize("cut", [17, 18, 31, 40])
def test_a_file_cut_after_a_header_line_is_truncated(cut: int) -> None:
    data = seal_raw(b"{}")
    at = data.index(b"\n", cut) + 1  # it ends with a complete line: only the end line is missing
    with pytest.raises(TruncatedFile):
        open_sealed(data[:at], KEYS)


def test_crlf_line_endings_are_damage_not_another_version() -> None:
    with pytest.raises(DamagedFile, match="CRLF line endings"):
        open_sealed(seal_raw(b"{}").replace(b"\n", b"\r\n"), KEYS)
    with pytest.raises(DamagedFile, match="CRLF line endings"):
        open_sealed(b"otpsync-backup v1\r", KEYS)


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (b"fnd sha256=" + b"0" * 64 + b"\n", DamagedFile),  # its first letter changed
        (b"nd sha256=" + b"0" * 64 + b"\n", DamagedFile),  # or lost
        (b"end sha256=" + b"0" * 65 + b"\n", DamagedFile),
        (b"end sha256=" + b"A" * 64 + b"\n", DamagedFile),
        (b"end sha512=" + b"0" * 64 + b"\n", DamagedFile),
        (b"sent from my phone\n", DamagedFile),
        (b"end sha256=" + b"0" * 63 + b"\n", TruncatedFile),  # the start of an end line
        (b"end sha\n", TruncatedFile),
        (b"QUJD\n", TruncatedFile),  # a body line: cut just after it
        (b"QUI=\n", TruncatedFile),
        (b"\n", TruncatedFile),
        (b"end sha256=" + b"0" * 64, TruncatedFile),  # no final LF
    ],
)
def test_a_malformed_end_line_is_damage_a_missing_one_truncation(
    last: bytes, expected: type[Exception]
) -> None:
    data = seal_raw(b"{}")
    with pytest.raises(expected):
        open_sealed(data[: data.rindex(b"end ")] + last, KEYS)


# --- strictness: one spelling per value ----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("device-id", DEVICE_ID.upper().encode()),
        ("device-id", DEVICE_ID.replace("-", "").encode()),
        ("device-id", b"{" + DEVICE_ID.encode() + b"}"),
        ("device-id", b"urn:uuid:" + DEVICE_ID.encode()),
        ("created", b"2026-11-28T10:00:00"),
        ("created", b"2026-11-28T1:00:00Z"),
        ("created", b"2026-1-28T10:00:00Z"),
        ("created", b"2026-11-28T10:00:00.0Z"),
        ("created", b"2026-11-28 10:00:00Z"),
        ("created", b"2026-02-30T10:00:00Z"),
        ("kdf-lanes", b"01"),
        ("kdf-lanes", b"+1"),
        ("kdf-lanes", b" 1"),
        ("kdf-lanes", "²".encode()),  # str.isdigit() says yes
        ("kdf-iterations", b"1.0"),
        ("payload-bytes", b"0018"),
        ("payload-bytes", b"15"),  # less than the tag
        ("kdf-salt", b"AAAAAAAAAAAAAAAAAAAAAB=="),  # 16 zero bytes with an unused bit set
    ],
)
def test_non_canonical_header_values_are_damaged(key: str, value: bytes) -> None:
    reader = MasterKeys("pw")
    with pytest.raises(DamagedFile, match="damaged"):
        open_sealed(edit(seal_raw(b"{}"), key, value), reader)
    assert reader.kdf_runs == 0


def test_body_lines_are_exactly_76_columns() -> None:
    data = seal_raw(b"x" * 300)  # 316 bytes: 424 base64 characters, 6 lines
    assert rewrap(data, [76]) == data
    reader = MasterKeys("pw")
    for widths in ([60], [80], [1000], [72, 80], [76, 76, 76, 76, 76, 20]):
        with pytest.raises(DamagedFile, match="76 columns"):
            open_sealed(rewrap(data, widths), reader)
    start = data.index(b"\n\n") + 2
    for broken in (data[:start] + b"\n" + data[start:], data.replace(b"\nend ", b"\n\nend ")):
        with pytest.raises(DamagedFile, match=r"76 columns|empty"):
            open_sealed(rechecksum(broken), reader)
    assert reader.kdf_runs == 0


def test_body_base64_is_canonical() -> None:
    data = seal_raw(b"x" * 301)  # 317 bytes: one "=", so 2 unused bits in the character before
    at = data.rindex(b"=\nend ") - 1
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = alphabet.index(data[at : at + 1]) | 1
    changed = data[:at] + alphabet[value : value + 1] + data[at + 1 :]
    assert changed != data
    with pytest.raises(DamagedFile, match="canonical"):
        open_sealed(rechecksum(changed), KEYS)


# --- the KDF cost budget, and the passphrase's normal form ----------------------------------------


@pytest.mark.parametrize(
    ("memory", "iterations", "ok"),
    [
        (1024 * 1024, 1, True),  # 1 GiB × 1: the ceiling
        (512 * 1024, 2, True),
        (256 * 1024, 4, True),
        (128 * 1024, 8, True),
        (104_857, 10, True),
        (1024 * 1024, 2, False),
        (256 * 1024 + 8, 4, False),
        (128 * 1024, 9, False),
        (104_858, 10, False),
    ],
)
def test_kdf_cost_budget(memory: int, iterations: int, ok: bool) -> None:
    params = KdfParams(memory_kib=memory, iterations=iterations, lanes=4)
    if ok:
        params.check()
    else:
        with pytest.raises(KdfOutOfBounds, match=r"out of bounds \(memory × passes at most"):
            params.check()


def test_the_default_kdf_cost_is_a_quarter_of_the_budget() -> None:
    default = KdfParams()
    default.check()
    assert default.memory_kib * default.iterations * 4 == KDF_BUDGET_KIB_PASSES


def test_a_file_over_the_kdf_budget_is_refused_before_any_work() -> None:
    data = edit(edit(seal_raw(b"{}"), "kdf-memory-kib", b"524288"), "kdf-iterations", b"3")
    reader = MasterKeys("pw")
    with pytest.raises(KdfOutOfBounds, match="out of bounds"):
        open_sealed(data, reader)
    with pytest.raises(KdfOutOfBounds):
        read_header(data)
    assert reader.kdf_runs == 0


def test_the_passphrase_is_nfc_normalised() -> None:
    nfc = "pässwörd Å ﬁ"  # "ﬁ" is a compatibility ligature: NFC keeps it, NFKC would not
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    salt = os.urandom(16)
    assert MasterKeys(nfd).master_key(salt, KDF) == MasterKeys(nfc).master_key(salt, KDF)
    data = sealed(MasterKeys(nfd), salt)
    open_sealed(data, MasterKeys(nfc))
    with pytest.raises(WrongPassphrase):
        open_sealed(data, MasterKeys(unicodedata.normalize("NFKC", nfc)))


# --- the spec's corners (issue 9) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("kind", b"backup\t"),
        ("device", b"lap\x7ftop"),
        ("created", b"\x1b[2J"),
        ("nonce", b"Rk0Yhmuy/18ZFvoE\x00"),
    ],
)
def test_a_control_character_in_a_header_value_is_damage(key: str, value: bytes) -> None:
    reader = MasterKeys("pw")
    with pytest.raises(DamagedFile, match=r"header has a control character"):
        open_sealed(edit(seal_raw(b"{}"), key, value), reader)
    assert reader.kdf_runs == 0


def test_years_before_1000_are_zero_padded_and_read_back() -> None:
    moment = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_time(moment) == "0999-01-02T03:04:05Z"
    data = seal(b"{}", kind="backup", device_id=DEVICE_ID, device="laptop", created=moment,
                keys=KEYS, kdf_salt=SALT, kdf=KDF)  # fmt: skip
    assert b"\ncreated: 0999-01-02T03:04:05Z\n" in data
    assert read_header(data).created == moment
    assert read_header(data).created < NOW  # a time, compared as one

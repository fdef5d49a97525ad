"""The outer header of a KDBX file, read just far enough to know (and bound) its KDF.

Layout (KeePass KdbxFile.cs): two signature words, minor and major version (u16 each), then
fields of ``id: u8, size: u16 (KDBX 3) or u32 (KDBX 4), data`` up to id 0. KDBX 3 keeps the
AES-KDF seed and rounds in fields 5 and 6; KDBX 4 keeps a VariantDictionary in field 11
(``u16 version``, then ``type: u8, name: i32-prefixed, value: i32-prefixed`` up to type 0)
whose ``$UUID`` names the KDF: AES-KDF (``S`` seed, ``R`` rounds) or Argon2d/id (``S`` salt,
``I`` passes, ``M`` bytes, ``P`` lanes, ``V`` version).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from daemon.errors import DamagedFile, KdfOutOfBounds, UnsupportedImport

SIGNATURE = struct.pack("<II", 0x9AA2D903, 0xB54BFB67)
AES_KDF = bytes.fromhex("c9d9f39a628a4460bf740d08c18a4fea")
ARGON2D = bytes.fromhex("ef636ddf8c29444b91f7a9a403e30a0c")
ARGON2ID = bytes.fromhex("9e298b1956db4773b23dfc3ec6f0a1e6")
END, TRANSFORM_SEED, TRANSFORM_ROUNDS, KDF_PARAMETERS = 0, 5, 6, 11
MAX_FIELDS = 64

# What real databases ask for, with room: KeePass's default AES-KDF is 60 000 rounds and
# KeePassXC benchmarks it to ~1 s of C (a few million); Argon2 defaults are 64 MiB with a
# handful of passes (KeePassXC benchmarks passes to ~1 s). 100 M rounds are ~5 s of OpenSSL
# here; 8 GiB·passes of Argon2 (1 GiB × 8, 64 MiB × 128) a few seconds too.
MAX_AES_ROUNDS = 100_000_000
MAX_ARGON2_MEMORY = 1 << 30
MAX_ARGON2_COST = 8 << 30  # bytes × passes
MAX_ARGON2_LANES = 64


@dataclass(frozen=True, slots=True)
class AesKdf:
    seed: bytes
    rounds: int


@dataclass(frozen=True, slots=True)
class Argon2:
    memory: int
    passes: int
    lanes: int


def read_kdf(data: bytes) -> AesKdf | Argon2:
    """The database's KDF, after checking its cost is one we are willing to pay."""
    if not data.startswith(SIGNATURE):
        raise DamagedFile("not a KeePass database (no KDBX signature)")
    if len(data) < 12:
        raise DamagedFile("the KDBX header is cut short")
    _minor, major = struct.unpack_from("<HH", data, 8)
    if major not in (3, 4):
        raise UnsupportedImport(f"KDBX version {major} is not one otpsync reads (3.1, 4)")
    fields = _fields(data, 12, 4 if major == 4 else 2)
    if major == 3:
        seed, rounds = fields.get(TRANSFORM_SEED), fields.get(TRANSFORM_ROUNDS)
        if seed is None or rounds is None or len(rounds) != 8:
            raise DamagedFile("the KDBX header has no AES-KDF seed or rounds")
        return _checked_aes(seed, struct.unpack("<Q", rounds)[0])
    if KDF_PARAMETERS not in fields:
        raise DamagedFile("the KDBX 4 header has no KDF parameters")
    params = _variant_dictionary(fields[KDF_PARAMETERS])
    uuid = params.get("$UUID")
    if uuid == AES_KDF:
        return _checked_aes(_bytes(params, "S"), _int(params, "R"))
    if uuid in (ARGON2D, ARGON2ID):
        return _checked_argon2(_int(params, "M"), _int(params, "I"), _int(params, "P"))
    raise UnsupportedImport("the database uses a KDF otpsync does not know")


def _fields(data: bytes, offset: int, size_bytes: int) -> dict[int, bytes]:
    fields: dict[int, bytes] = {}
    for _ in range(MAX_FIELDS):
        head = data[offset : offset + 1 + size_bytes]
        if len(head) != 1 + size_bytes:
            raise DamagedFile("the KDBX header is cut short")
        field_id = head[0]
        size = int.from_bytes(head[1:], "little")
        offset += 1 + size_bytes
        value = data[offset : offset + size]
        if len(value) != size:
            raise DamagedFile("the KDBX header is cut short")
        offset += size
        if field_id == END:
            return fields
        fields[field_id] = value
    raise DamagedFile("the KDBX header has too many fields")


def _variant_dictionary(raw: bytes) -> dict[str, bytes | int]:
    if len(raw) < 2 or raw[1] != 1:  # version 0x01nn
        raise DamagedFile("the KDBX KDF parameters are not a version 1 dictionary")
    out: dict[str, bytes | int] = {}
    offset = 2
    for _ in range(MAX_FIELDS):
        if offset >= len(raw):
            break
        kind = raw[offset]
        offset += 1
        if kind == 0:
            return out
        name, offset = _prefixed(raw, offset)
        value, offset = _prefixed(raw, offset)
        key = name.decode("utf-8", "replace")
        if kind in (0x04, 0x05) and len(value) == (4 if kind == 0x04 else 8):  # UInt32/64
            out[key] = int.from_bytes(value, "little")
        elif kind == 0x42:  # byte array
            out[key] = value
    raise DamagedFile("the KDBX KDF parameters are damaged")


def _prefixed(raw: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(raw):
        raise DamagedFile("the KDBX KDF parameters are damaged")
    (size,) = struct.unpack_from("<i", raw, offset)
    value = raw[offset + 4 : offset + 4 + size]
    if size < 0 or len(value) != size:
        raise DamagedFile("the KDBX KDF parameters are damaged")
    return value, offset + 4 + size


def _int(params: dict[str, bytes | int], key: str) -> int:
    value = params.get(key)
    if not isinstance(value, int):
        raise DamagedFile(f"the KDBX KDF parameters have no number {key!r}")
    return value


def _bytes(params: dict[str, bytes | int], key: str) -> bytes:
    value = params.get(key)
    if not isinstance(value, bytes):
        raise DamagedFile(f"the KDBX KDF parameters have no {key!r}")
    return value


def _checked_aes(seed: bytes, rounds: int) -> AesKdf:
    if len(seed) != 32:
        raise DamagedFile("the KDBX AES-KDF seed is not 32 bytes")
    if not 1 <= rounds <= MAX_AES_ROUNDS:
        raise KdfOutOfBounds(
            f"the database asks for {rounds:,} AES-KDF rounds; otpsync allows 1 to "
            f"{MAX_AES_ROUNDS:,}"
        )
    return AesKdf(seed, rounds)


def _checked_argon2(memory: int, passes: int, lanes: int) -> Argon2:
    if not (
        1 <= lanes <= MAX_ARGON2_LANES
        and 8 * 1024 * lanes <= memory <= MAX_ARGON2_MEMORY
        and passes >= 1
        and memory * passes <= MAX_ARGON2_COST
    ):
        raise KdfOutOfBounds(
            f"the database asks for Argon2 with {memory:,} bytes, {passes:,} passes and "
            f"{lanes} lanes; otpsync allows up to 1 GiB, {MAX_ARGON2_LANES} lanes and "
            "memory × passes ≤ 8 GiB"
        )
    return Argon2(memory, passes, lanes)

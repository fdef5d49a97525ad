"""A bounded reader for one shape of Java object serialization: ``HashMap<String, String>``.

FreeOTP 2 writes its backup this way (``ObjectOutputStream.writeObject(map)``). Rather than
depend on a general Java-deserialization library for one file, we read exactly what a
serialized HashMap of strings contains and refuse anything else: no class other than
java.util.HashMap, no object fields, nothing but strings as keys and values.
"""

from __future__ import annotations

from daemon.errors import ImportFailed
from daemon.importers._common import MAX_ENTRIES

MAGIC = b"\xac\xed\x00\x05"
TC_NULL, TC_REFERENCE, TC_CLASSDESC, TC_OBJECT, TC_STRING = 0x70, 0x71, 0x72, 0x73, 0x74
TC_BLOCKDATA, TC_ENDBLOCKDATA, TC_LONGSTRING = 0x77, 0x78, 0x7C
BASE_HANDLE = 0x7E0000
SC_WRITE_METHOD = 0x01
HASHMAP = "java.util.HashMap"
PRIMITIVE_SIZES = {"B": 1, "C": 2, "D": 8, "F": 4, "I": 4, "J": 8, "S": 2, "Z": 1}
MAX_FIELDS = 16


class _NotAMap(Exception):
    """Internal: the stream is not a serialized HashMap<String, String>."""


def java_utf8(raw: bytes) -> str:
    """Java's "modified UTF-8": NUL as C0 80 and characters beyond U+FFFF as two
    3-byte surrogates."""
    text = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = len(MAGIC)
        self.handles: list[object] = []

    def take(self, size: int) -> bytes:
        if size < 0 or size > len(self.data) - self.pos:
            raise _NotAMap
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def number(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def expect(self, code: int) -> None:
        if self.number(1) != code:
            raise _NotAMap

    def utf(self, size_bytes: int = 2) -> str:
        try:
            return java_utf8(self.take(self.number(size_bytes)))
        except UnicodeError:
            raise _NotAMap from None

    def string(self) -> str:
        code = self.number(1)
        if code in (TC_STRING, TC_LONGSTRING):
            text = self.utf(2 if code == TC_STRING else 8)
            self.handles.append(text)
            return text
        if code == TC_REFERENCE:
            index = self.number(4) - BASE_HANDLE
            if 0 <= index < len(self.handles) and isinstance(self.handles[index], str):
                return self.handles[index]  # type: ignore[return-value]
        raise _NotAMap

    def hashmap_fields(self) -> tuple[int, list[str]]:
        """The class descriptor: (flags, primitive field type codes)."""
        self.expect(TC_CLASSDESC)
        if self.utf() != HASHMAP:
            raise _NotAMap
        self.take(8)  # serialVersionUID
        self.handles.append(HASHMAP)
        flags = self.number(1)
        count = self.number(2)
        if count > MAX_FIELDS:
            raise _NotAMap
        codes = []
        for _ in range(count):
            code = chr(self.number(1))
            self.utf()  # field name
            if code not in PRIMITIVE_SIZES:
                raise _NotAMap
            codes.append(code)
        self.expect(TC_ENDBLOCKDATA)  # no class annotations
        self.expect(TC_NULL)  # no serializable superclass
        return flags, codes


def parse_string_map(data: bytes) -> dict[str, str]:
    """The HashMap<String, String> serialized in ``data``; ImportFailed for anything else."""
    if not data.startswith(MAGIC):
        raise ImportFailed("not a Java serialization stream")
    reader = _Reader(data)
    try:
        reader.expect(TC_OBJECT)
        flags, codes = reader.hashmap_fields()
        reader.handles.append("<map>")
        for code in codes:  # loadFactor, threshold: not needed
            reader.take(PRIMITIVE_SIZES[code])
        if not flags & SC_WRITE_METHOD:
            raise _NotAMap
        reader.expect(TC_BLOCKDATA)
        if reader.number(1) != 8:
            raise _NotAMap
        reader.take(4)  # capacity
        size = reader.number(4)
        if size > 4 * MAX_ENTRIES:
            raise _NotAMap
        result = {}
        for _ in range(size):
            key = reader.string()
            result[key] = reader.string()
        reader.expect(TC_ENDBLOCKDATA)
    except _NotAMap:
        raise ImportFailed("the file is not a Java-serialized map of strings") from None
    return result

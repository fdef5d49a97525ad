"""No input makes an importer raise anything but our BackupError family: random bytes,
random JSON, truncated and bit-flipped fixtures, fixtures with one value replaced."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon import importers
from daemon.core.accounts import Account
from daemon.errors import BackupError, ImportFailed, UnknownFormat
from tests.importers.support import MANIFEST, SKIP_REASON, fixture, is_export, manifest
from tests.importers.test_fixtures import elsewhere, format_of

NAMES = sorted(importers.FORMATS)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def outcome(name: str, data: bytes, password: str | None) -> list[Account] | BackupError:
    """Parse, returning our error instead of raising it; anything else fails the test."""
    try:
        accounts = importers.get(name).parse(data, password).accounts
    except BackupError as exc:
        error = exc
    else:
        assert all(isinstance(a, Account) for a in accounts)
        return accounts
    assert error.message  # one line for a human
    assert "\n" not in error.message
    return error


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.binary(max_size=2048), password=st.none() | st.just("pw"))
def test_random_bytes(name: str, data: bytes, password: str | None) -> None:
    outcome(name, data, password)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(value=json_values)
def test_random_json(name: str, value: Any) -> None:
    outcome(name, json.dumps(value).encode(), "pw")


@FUZZ
@given(data=st.binary(max_size=4096))
def test_detect_names_a_format_or_says_unknown(data: bytes) -> None:
    try:
        name = importers.detect(data)
    except (UnknownFormat, ImportFailed):  # unknown, or a container (ZIP) cut short
        return
    outcome(name, data, "pw")


# --- damaged copies of the real fixtures ------------------------------------------------------


def fixture_records() -> list[Any]:
    if not MANIFEST.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON))]
    seen, out = set(), []
    for record in manifest()["fixtures"]:
        if record["expected_count"] and is_export(record) and record["file"] not in seen:
            seen.add(record["file"])
            later = pytest.mark.skip(reason="a format not on this branch (see ELSEWHERE)")
            marks = [later] if elsewhere(record) else []
            out.append(pytest.param(record, id=record["file"], marks=marks))
    return out


def damaged(data: bytes) -> list[bytes]:
    """Cut short at several points, and with single bits flipped."""
    size = len(data)
    cuts = {0, 1, 16, size // 10, size // 2, size * 9 // 10, size - 1}
    variants = [data[:cut] for cut in sorted(cuts) if cut < size]
    for where in (size // 3, size // 2, size * 2 // 3, size - 1):
        flipped = bytearray(data)
        flipped[where] ^= 0x10
        variants.append(bytes(flipped))
    return variants


@pytest.mark.parametrize("record", fixture_records())
def test_truncated_and_flipped_fixtures(record: dict[str, Any]) -> None:
    data = fixture(record["file"])
    name = importers.get(format_of(record)).name
    for variant in damaged(data):
        outcome(name, variant, record["password"])
        with contextlib.suppress(UnknownFormat, ImportFailed):
            importers.detect(variant)


JSON_FIXTURES = [
    ("aegis-tests/aegis_plain.json", "aegis"),
    ("aegis-tests/andotp_plain.json", "andotp"),
    ("aegis-tests/2fas_authenticator_plain_v3.2fas", "2fas"),
    ("aegis-tests/bitwarden.json", "bitwarden"),
    ("aegis-tests/duo.json", "duo"),
    ("aegis-tests/freeotp_plus.json", "freeotp-plus"),
    ("aegis-tests/proton_authenticator.json", "proton"),
    ("aegis-tests/steam.json", "steam"),
    ("aegis-tests/stratum_plain.json", "stratum"),
]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(document))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = new
    return copy


@pytest.mark.parametrize(("file", "name"), JSON_FIXTURES)
@FUZZ
@given(choice=st.integers(min_value=0), new=json_values)
def test_fixture_with_one_value_replaced(file: str, name: str, choice: int, new: Any) -> None:
    if not MANIFEST.exists():
        pytest.skip(SKIP_REASON)
    document = json.loads(fixture(file))
    every = paths(document)
    outcome(name, json.dumps(replaced(document, every[choice % len(every)], new)).encode(), None)

"""config.toml is read strictly: every mistake is one clear line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon import config
from daemon.errors import ConfigError, NoVault

GOOD = 'device = "laptop"\nsync_folder = "~/Dropbox/otpsync"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_and_home_expansion(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg.device == "laptop"
    assert cfg.sync_folder == Path.home() / "Dropbox" / "otpsync"
    assert cfg.keyring is True
    assert cfg.snapshots == 20
    assert cfg.kdf.memory_kib == 128 * 1024
    assert cfg.stale_after == 14 * 86400


def test_watch_source_key_file(tmp_path: Path) -> None:
    text = GOOD + "[[watch.sources]]\nname = 'kp'\npattern = '*.kdbx'\nkey_file = '~/db.keyx'\n"
    (source,) = config.load(write(tmp_path, text)).watch.sources
    assert source.key_file == Path.home() / "db.keyx"
    assert source.password_file is None


def test_example_config_is_valid_and_complete(tmp_path: Path) -> None:
    """config.example.toml must parse, and name every key the loader knows."""
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    text = example.read_text()
    uncommented = "\n".join(line.removeprefix("# ") for line in text.splitlines()
                            if not line.startswith("## "))  # fmt: skip
    config.load(write(tmp_path, text))
    for key in config._TOP:
        assert f"\n{key} = " in "\n" + uncommented, key
    for table, keys in config._TABLES.items():
        assert f"[{table}]" in text
        for key in keys:
            if f"{table}.{key}" in config._TABLES:  # an array of tables, e.g. [[watch.sources]]
                assert f"[[{table}.{key}]]" in text
                continue
            assert f"\n{key} = " in "\n" + uncommented, f"{table}.{key}"
    # With every example uncommented it is still a valid config.
    config.load(write(tmp_path, uncommented))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("device = ", "not valid TOML"),
        (GOOD + "sync_foldr = 'x'\n", "unknown key 'sync_foldr'"),
        (GOOD + "keyring = 'yes'\n", "keyring must be true or false"),
        (GOOD + "[kdf]\nmemory_kib = 4194304\n", "out of bounds"),
        # Each within its own bounds, but 1 GiB × 2 passes is over the 1 GiB·pass budget.
        (
            GOOD + "[kdf]\nmemory_kib = 1048576\niterations = 2\n",
            r"\[kdf\] KDF cost 1048576 KiB × 2 passes is out of bounds",
        ),
        (GOOD + "[kdf]\nmemory_kib = true\n", "kdf.memory_kib must be a whole number"),
        # The floor for writers (issue 9): OWASP's Argon2id minimum, 19 MiB and 2 passes.
        (
            GOOD + "[kdf]\nmemory_kib = 8\niterations = 2\nlanes = 1\n",
            r"kdf.memory_kib = 8 is below the floor of 19456 \(19 MiB",
        ),
        (GOOD + "[kdf]\nmemory_kib = 19455\n", "kdf.memory_kib = 19455 is below the floor"),
        (
            GOOD + "[kdf]\nmemory_kib = 19456\niterations = 1\n",
            "kdf.iterations = 1 is below the floor of 2",
        ),
        (GOOD + "[kdf]\nthreads = 2\n", "unknown key 'kdf.threads'"),
        (GOOD + "[vault]\nsnapshots = 0\n", "snapshots must be 1 to 1000"),
        (GOOD + "kdf = 3\n", r"\[kdf\] must be a table"),
        (GOOD + "[[watch.sources]]\nname = 'a b'\npattern = 'x*'\n", r"sources\[0\].name"),
        (GOOD + "[[watch.sources]]\nname = 'a'\npattern = '../x*'\n", "file-name pattern"),
        (GOOD + "[[watch.sources]]\nname = 'a'\npattern = 'x*'\nformat = 'nope'\n", "unknown"),
        (GOOD + "[[watch.sources]]\nname = 'a'\npattern = 'x'\ncolour = 1\n", "colour"),
        (
            GOOD + "[[watch.sources]]\nname = 'a'\npattern = 'x'\n[[watch.sources]]\n"
            "name = 'a'\npattern = 'y'\n",
            "same name",
        ),
        (GOOD + "[watch]\nsources = 3\n", "list of"),
        (GOOD + "[devices]\nstale_after = '2 weeks'\n", "devices.stale_after: '2 weeks' is not"),
        (GOOD + "[devices]\nstale_after = '10m'\n", "stale_after must be between 1 h and 365 d"),
        (GOOD + "[devices]\nstale_after = 14\n", "devices.stale_after must be a string"),
        (GOOD + "[devices]\nstale = '1d'\n", "unknown key 'devices.stale'"),
        ('sync_folder = "x"\n', "device and sync_folder must be set"),
        ('device = "my laptop"\nsync_folder = "x"\n', "device name 'my laptop'"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(write(tmp_path, text))


def test_missing_config_means_not_set_up(tmp_path: Path) -> None:
    with pytest.raises(NoVault, match="otpsync init"):
        config.load(tmp_path / "config.toml")


@pytest.mark.parametrize(
    ("host", "slug"), [("Alice's MacBook.local", "Alice-s-MacBook"), ("...", "device")]
)
def test_device_slug_from_hostname(host: str, slug: str) -> None:
    assert config.device_slug(host) == slug
    config.check_device_name(config.device_slug(host))

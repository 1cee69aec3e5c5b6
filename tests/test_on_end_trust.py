"""`on_end` runs a shell command as the user running jobwatch: from a config file that someone
else could change (its owner, its mode, a directory above it), it is refused with exit 6 when it
is read (Defaults.on_end()), and `config check` says so. Other commands are not affected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jobwatch.config import load_defaults, load_file
from jobwatch.errors import ConfigError
from tests.conftest import assert_clean_error, provider_env
from tests.fakeserver import json_reply
from tests.test_config import CLARET_OK

ON_END = '[defaults]\ntimeout = "1m"\non_end = "notify-send done"\n'


def config_in(directory: Path, text: str = ON_END, mode: int = 0o600,
              dir_mode: int = 0o700) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(dir_mode)
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def on_end_of(path: Path):
    return load_defaults(load_file(path, env={})).on_end()


def refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        on_end_of(path)
    assert caught.value.message.startswith(f"on_end ({path}:3) is refused: "), caught.value
    return caught.value


def test_a_private_file_gives_the_command_and_its_line(tmp_path) -> None:
    path = config_in(tmp_path / "private")
    found = on_end_of(path)
    assert found is not None
    assert (found.value, found.source) == ("notify-send done", f"{path}:3")


def test_no_on_end_is_none_whoever_can_write_the_file(tmp_path) -> None:
    path = config_in(tmp_path / "open", '[defaults]\ntimeout = "1m"\n', mode=0o666,
                     dir_mode=0o777)
    assert on_end_of(path) is None


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_file_others_can_write_is_refused(tmp_path, mode) -> None:
    path = config_in(tmp_path / "d", mode=mode)
    error = refused(path)
    assert f"{path} is writable by others (mode {mode:04o})" in error.message
    assert error.hint == f"run: chmod go-w {path}"


@pytest.mark.parametrize("mode", [0o770, 0o777, 0o703])
def test_a_directory_others_can_write_is_refused(tmp_path, mode) -> None:
    path = config_in(tmp_path / "shared", dir_mode=mode)
    error = refused(path)
    assert f"its directory {path.parent} is writable by others" in error.message


def test_a_sticky_directory_is_not_refused(tmp_path) -> None:
    # As /tmp: only an entry's owner may rename or remove it there.
    path = config_in(tmp_path / "sticky", dir_mode=0o1777)
    assert on_end_of(path) is not None


def test_a_directory_higher_up_counts_too(tmp_path) -> None:
    outer = tmp_path / "outer"
    path = config_in(outer / "inner")
    outer.chmod(0o777)  # anyone may rename inner/ and put a directory of theirs in its place
    error = refused(path)
    assert f"its directory {outer} is writable by others" in error.message


def test_a_symlink_in_a_shared_directory_is_refused(tmp_path) -> None:
    # The file is private, but whoever can write the link's directory can point it elsewhere.
    target = config_in(tmp_path / "private")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    link = shared / "config.toml"
    link.symlink_to(target)
    error = refused(link)
    assert f"its directory {shared} is writable by others" in error.message


def test_the_file_that_was_read_is_judged_not_the_path_later(tmp_path) -> None:
    path = config_in(tmp_path / "d", mode=0o666)
    defaults = load_defaults(load_file(path, env={}))
    path.chmod(0o600)  # too late: what was read came from a file anyone could write
    with pytest.raises(ConfigError, match="is writable by others"):
        defaults.on_end()


def test_a_file_of_another_user_is_refused(tmp_path, monkeypatch) -> None:
    path = config_in(tmp_path / "d")
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(path).st_uid + 4242)
    error = refused(path)
    assert f"{path} belongs to another user (uid {os.stat(path).st_uid})" in error.message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="chown to another user needs root")
def test_a_file_really_owned_by_another_user_is_refused(tmp_path) -> None:
    path = config_in(tmp_path / "d")
    os.chown(path, 65534, -1)
    error = refused(path)
    assert "belongs to another user (uid 65534)" in error.message


# -- as a user sees it -------------------------------------------------------------------------


def test_config_check_refuses_it_and_status_is_not_affected(run_cli, fake, tmp_path) -> None:
    path = config_in(tmp_path / "cfg", ON_END, mode=0o666)
    fake.route("/acme/api/v1/imports/status/12345", json_reply(CLARET_OK))
    status = run_cli("--config", str(path), "status", "claret", "12345",
                     env=provider_env(fake, "claret"))
    assert status.returncode == 0, status.stderr
    check = run_cli("--config", str(path), "config", "check", env=provider_env(fake, "claret"))
    assert_clean_error(check, 6)
    assert check.stderr.splitlines() == [
        f"jobwatch: error: on_end ({path}:3) is refused: {path} is writable by others "
        "(mode 0666)", f"hint: run: chmod go-w {path}"]
    assert len(fake.requests) == 1  # status's; config check stopped before probing

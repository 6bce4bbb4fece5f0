"""`duecourse dev` and payload encryption: it makes one private key per data dir when the operator configured
none, hands it to the stack through the environment, and starts the Temporal UI pointed at the codec endpoint."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from adapters.codec import keys_from_file
from workers.dev import DevOptions, StackError, ensure_codec_key, temporal_command


@pytest.fixture(autouse=True)
def no_operator_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set, then removed: monkeypatch then restores the variables ensure_codec_key sets, after each test.
    for variable in ("DUECOURSE_CODEC_KEYS", "DUECOURSE_CODEC_KEY_FILE"):
        monkeypatch.setenv(variable, "")
        monkeypatch.delenv(variable)


def test_the_ui_decodes_through_the_web_apps_codec_endpoint(tmp_path: Path) -> None:
    command = temporal_command(DevOptions(home=tmp_path, web_port=8123, ui_port=8299))
    at = command.index("--ui-codec-endpoint")
    assert command[at + 1] == "http://127.0.0.1:8123/codec"


def test_the_stack_makes_a_private_key_once_and_passes_it_on(tmp_path: Path) -> None:
    ensure_codec_key(tmp_path)
    key_file = tmp_path / "codec.key"
    assert os.environ["DUECOURSE_CODEC_KEY_FILE"] == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    [key] = keys_from_file(key_file)
    ensure_codec_key(tmp_path)  # a restart keeps the key its histories need
    assert keys_from_file(key_file) == [key]


def test_the_operators_keys_win_and_no_key_file_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUECOURSE_CODEC_KEYS", "ops:" + "A" * 43 + "=")
    ensure_codec_key(tmp_path)
    assert not (tmp_path / "codec.key").exists()


def test_an_unusable_operator_key_stops_the_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUECOURSE_CODEC_KEYS", "ops:c2hvcnQ=")
    with pytest.raises(StackError, match="DUECOURSE_CODEC_KEYS line 1: key 'ops' is 5 bytes"):
        ensure_codec_key(tmp_path)

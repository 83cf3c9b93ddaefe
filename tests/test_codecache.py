"""The kept code of dataclasses (advisor.codecache): the same classes, one compilation per Python, safe to lose."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.codecache import cache_file, kept


def _make() -> type:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Card:
        name: str
        memory_bytes: int = 0

    return Card


def _behaves(cls: type) -> None:
    a, b = cls("x", 3), cls("x", 3)
    assert a == b and hash(a) == hash(b) and a != cls("y", 3)
    assert repr(a).endswith("Card(name='x', memory_bytes=3)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "z"
    assert dataclasses.replace(a, memory_bytes=4).memory_bytes == 4


def test_a_second_run_reuses_the_code_and_the_class_is_the_same(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with kept(tmp_path):
        _behaves(_make())
    path = cache_file(tmp_path)
    first = path.read_bytes()
    assert len(first) > 0

    compiled: list[str] = []
    real_compile = compile

    def counting(source: str, *args: object, **kwargs: object) -> object:
        compiled.append(source)
        return real_compile(source, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.compile", counting)
    with kept(tmp_path):
        _behaves(_make())
    assert compiled == []  # every generated method came from the kept code
    assert path.read_bytes() == first  # nothing new, nothing rewritten


def test_without_the_cache_dataclasses_are_untouched(tmp_path: Path) -> None:
    with kept(tmp_path):
        assert hasattr(dataclasses, "exec")
    assert not hasattr(dataclasses, "exec")  # the module's own lookup of the builtin again
    _behaves(_make())


@pytest.mark.parametrize("content", [b"", b"not marshal at all", b"\xff" * 64])
def test_an_unreadable_file_costs_only_the_compilation(tmp_path: Path, content: bytes) -> None:
    import marshal

    cache_file(tmp_path).write_bytes(content)
    with kept(tmp_path):
        _behaves(_make())
    found = marshal.loads(cache_file(tmp_path).read_bytes())
    assert isinstance(found, dict) and found  # replaced by a good file


def test_a_file_of_the_wrong_shape_is_ignored(tmp_path: Path) -> None:
    import marshal

    cache_file(tmp_path).write_bytes(marshal.dumps({b"k": "not code"}))
    with kept(tmp_path):
        _behaves(_make())


def test_an_unwritable_folder_does_not_fail(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with kept(blocker / "cache"):
        _behaves(_make())


def test_the_command_process_gives_the_same_answer_with_and_without_kept_code(tmp_path: Path) -> None:
    """`python -m advisor` (the process's own command: kept code, no cyclic GC, no teardown) twice: the first run
    compiles and keeps, the second reuses; both print the same JSON, and an error still exits with its code."""
    env = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp_path), "ADVISOR_CONFIG_DIR": str(tmp_path / "config")}
    argv = [sys.executable, "-m", "advisor", "recommend", "--json", "--gpu", "RTX 4090", "--ram", "64GB"]
    runs = [subprocess.run(argv, capture_output=True, text=True, env=env, check=True) for _ in range(2)]
    assert cache_file(tmp_path).is_file()
    first, second = (json.loads(r.stdout) for r in runs)
    assert first["results"] == second["results"] and first["results"]
    bad = subprocess.run([sys.executable, "-m", "advisor", "estimate", "no-such-model"], capture_output=True,
                         text=True, env=env, check=False)
    assert bad.returncode == 2 and "unknown model" in bad.stderr


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership and modes")
def test_a_file_others_may_write_is_never_read(tmp_path: Path) -> None:
    """Code kept in a file is code run: a group- or world-writable file or folder is ignored (and replaced)."""
    import marshal

    with kept(tmp_path):
        _make()
    path = cache_file(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    planted = compile("raise SystemExit('planted code ran')", "<string>", "exec")
    codes = marshal.loads(path.read_bytes())

    def plant() -> None:
        path.write_bytes(marshal.dumps(dict.fromkeys(codes, planted)))  # every key now maps to foreign code

    for loose in (path, tmp_path):
        plant()
        mode = loose.stat().st_mode
        loose.chmod(mode | 0o022)
        with kept(tmp_path):
            _behaves(_make())  # compiled afresh: the planted code never ran
        loose.chmod(mode & ~0o022)
    plant()
    # the same file, private again, is read: the check is what held
    with pytest.raises(SystemExit, match="planted"), kept(tmp_path):
        _make()


def test_another_version_s_file_is_removed_and_the_file_stays_bounded(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import marshal

    from advisor import codecache

    older = tmp_path / f"dataclass-code-{codecache.MAGIC}-0.0.1.marshal"
    older.write_bytes(marshal.dumps({}))
    other_python = tmp_path / "dataclass-code-00000000-0.0.1.marshal"
    other_python.write_bytes(marshal.dumps({}))
    monkeypatch.setattr(codecache, "MAX_KEPT", 3)  # past it, only the texts this run used are kept
    filler = compile("pass", "<string>", "exec")
    cache_file(tmp_path).write_bytes(marshal.dumps({bytes([i]) * 16: filler for i in range(5)}))
    cache_file(tmp_path).chmod(0o600)
    with kept(tmp_path):
        _behaves(_make())
    kept_codes = marshal.loads(cache_file(tmp_path).read_bytes())
    assert kept_codes and not any(k == bytes([i]) * 16 for k in kept_codes for i in range(5))
    assert not older.exists() and other_python.exists()  # another Python's file is that Python's to keep

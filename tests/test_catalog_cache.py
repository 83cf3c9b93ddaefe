"""The catalog cache stores only validated catalogs, keyed by content, one file per install, and deletes only its
own files; the loader reports user files it does not read and refuses what no catalog file needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from advisor.catalog.load import catalog_root, load_catalog, unread_files
from advisor.errors import CatalogError


def _llama_entry(new_id: str) -> dict[str, object]:
    shipped = yaml.safe_load((catalog_root() / "models" / "google-meta-ms-ibm.yaml").read_text())["models"]
    entry = {k: v for k, v in next(m for m in shipped if m["id"] == "llama-3.1-8b").items()
             if k not in ("aliases", "gguf_files")}
    return {**entry, "id": new_id, "name": new_id}


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "advisor", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, check=False)


def test_a_user_catalog_that_fails_validation_fails_every_run(tmp_path: Path) -> None:
    folder = tmp_path / "mine" / "models"
    folder.mkdir(parents=True)
    bad = _llama_entry("broken-llama")
    bad["arch"] = {**bad["arch"], "layers": "thirty-two"}  # type: ignore[dict-item]
    (folder / "bad.yaml").write_text(yaml.safe_dump({"models": [bad]}))
    env = {"ADVISOR_CACHE_DIR": str(tmp_path / "cache"), "ADVISOR_CONFIG_DIR": str(tmp_path / "config")}
    codes = [_cli("--catalog", str(tmp_path / "mine"), "models", env=env).returncode for _ in range(2)]
    assert codes == [3, 3]
    assert not list((tmp_path / "cache").glob("catalog-*.json"))


def test_an_edit_that_keeps_size_and_mtime_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "mine" / "models").mkdir(parents=True)
    path = tmp_path / "mine" / "models" / "m.yaml"
    path.write_text(yaml.safe_dump({"models": [_llama_entry("aaaa-llama")]}))
    stat = path.stat()
    assert load_catalog(extra_dirs=(tmp_path / "mine",)).find_model("aaaa-llama") is not None
    path.write_text(path.read_text().replace("aaaa-llama", "bbbb-llama"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert load_catalog(extra_dirs=(tmp_path / "mine",)).find_model("bbbb-llama") is not None


def test_two_installs_keep_their_own_cache_and_foreign_files_stay(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(cache))
    cache.mkdir()
    (cache / "catalog-mine.json").write_text("{}")  # a user's own file that merely looks like ours
    other = tmp_path / "other-install"
    shutil.copytree(catalog_root(), other)
    load_catalog()
    load_catalog(root=other)
    load_catalog()
    assert len(list(cache.glob("catalog-*-*.json"))) == 2
    assert (cache / "catalog-mine.json").read_text() == "{}"


def test_a_misplaced_user_file_is_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ok.yaml").write_text(yaml.safe_dump({"models": [_llama_entry("ok-llama")]}))
    (tmp_path / "top.yaml").write_text(yaml.safe_dump({"models": [_llama_entry("top-llama")]}))
    assert unread_files((tmp_path,)) == [tmp_path / "top.yaml"]
    done = _cli("--catalog", str(tmp_path), "models", "--json", env={"ADVISOR_CACHE_DIR": str(tmp_path / "c")})
    assert done.returncode == 0 and f"{tmp_path / 'top.yaml'} is not read" in done.stderr


def test_yaml_aliases_are_refused_before_anything_is_built(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nmodels: [*b, *b, *b]\n"
    (tmp_path / "models" / "bomb.yaml").write_text(bomb)
    with pytest.raises(CatalogError, match="anchors and aliases are not allowed"):
        load_catalog(extra_dirs=(tmp_path,))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_a_user_catalog_is_refused_not_waited_on(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    os.mkfifo(tmp_path / "models" / "pipe.yaml")
    with pytest.raises(CatalogError, match="not a regular file"):
        load_catalog(extra_dirs=(tmp_path,))

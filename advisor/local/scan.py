"""Find GGUF models already on this machine: Ollama's store, LM Studio, llama.cpp's and Hugging Face's caches.

I/O only: walks a few known folders (bounded), reads Ollama manifests (small JSON), and matches each file to a
catalog model by its Ollama tag or its file / repository name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from advisor.readfile import read_json
from advisor.specs import ModelSpec
from advisor.specs.facts import Catalog, normalize

MANIFEST_BYTES = 1024 * 1024  # an Ollama manifest is a few hundred bytes
MAX_FILES = 2000
_QUANT_SUFFIX = re.compile(r"[-._](ud-)?(i?q\d[\w]*|f16|bf16|f32|mxfp4)(-\d{5}-of-\d{5})?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LocalModel:
    source: str  # ollama | lm-studio | llama.cpp | huggingface
    name: str  # Ollama tag or file name
    path: Path
    size_bytes: int
    model_id: str | None  # the catalog model it matches, when one does


def roots(env: dict[str, str], home: Path) -> list[tuple[str, Path]]:
    ollama = Path(env["OLLAMA_MODELS"]) if env.get("OLLAMA_MODELS") else home / ".ollama" / "models"
    hf = Path(env.get("HF_HOME") or home / ".cache" / "huggingface") / "hub"
    llama = Path(env["LLAMA_CACHE"]) if env.get("LLAMA_CACHE") else home / ".cache" / "llama.cpp"
    return [("ollama", ollama), ("ollama", Path("/usr/share/ollama/.ollama/models")),
            ("lm-studio", home / ".lmstudio" / "models"), ("lm-studio", home / ".cache" / "lm-studio" / "models"),
            ("llama.cpp", llama), ("huggingface", hf)]


def scan(catalog: Catalog, env: dict[str, str] | None = None, home: Path | None = None) -> list[LocalModel]:
    env = dict(os.environ) if env is None else env
    home = home or Path.home()
    found: list[LocalModel] = []
    for source, root in roots(env, home):
        if not root.is_dir():
            continue
        found += _ollama(root, catalog) if source == "ollama" else _files(source, root, catalog)
    return found[:MAX_FILES]


def _ollama(root: Path, catalog: Catalog) -> list[LocalModel]:
    out = []
    manifests = root / "manifests"
    for manifest in sorted(manifests.glob("*/*/*/*"))[:MAX_FILES] if manifests.is_dir() else []:
        try:
            layers = read_json(manifest, MANIFEST_BYTES)["layers"]  # type: ignore[index]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        model = next((layer for layer in layers if isinstance(layer, dict)
                      and layer.get("mediaType") == "application/vnd.ollama.image.model"), None)
        if model is None or not isinstance(model.get("digest"), str):
            continue
        namespace, name, tag = manifest.parts[-3], manifest.parts[-2], manifest.parts[-1]
        label = f"{name}:{tag}" if namespace == "library" else f"{namespace}/{name}:{tag}"
        blob = root / "blobs" / model["digest"].replace(":", "-")
        out.append(LocalModel("ollama", label, blob, int(model.get("size") or 0), _match(label, catalog)))
    return out


def _files(source: str, root: Path, catalog: Catalog) -> list[LocalModel]:
    out = []
    for count, path in enumerate(root.rglob("*.gguf")):
        if count >= MAX_FILES:
            break
        if "mmproj" in path.name.lower() or re.search(r"-0000[2-9]-of-", path.name):
            continue  # projector files and later parts of split files
        try:
            size = path.stat().st_size
        except OSError:
            continue
        repo = next((p for p in path.parts if p.startswith("models--")), "")
        out.append(LocalModel(source, path.name, path, size, _match(path.stem, catalog, repo)))
    return out


def _short_names(catalog: Catalog) -> dict[str, str]:
    """Every id, name and alias without its organisation and -GGUF suffix -> model id (first claim wins)."""
    index: dict[str, str] = {}
    for m in catalog.models:
        for name in (m.id, m.name, *m.aliases, m.hf_repo or ""):
            key = normalize(name.split("/")[-1]).removesuffix("-gguf")
            if key:
                index.setdefault(key, m.id)
    return index


def _match(label: str, catalog: Catalog, repo: str = "") -> str | None:
    """The catalog model an Ollama tag or a file belongs to: its alias, its repository, or its name minus the quant."""
    found = catalog.find_model(label)
    if found is not None:
        return found.id
    index = _short_names(catalog)
    for candidate in (repo.removeprefix("models--").split("--")[-1], _QUANT_SUFFIX.sub("", label), label):
        key = normalize(candidate).removesuffix("-gguf")
        if key and key in index:
            return str(index[key])
    return None


def installed_ids(found: list[LocalModel]) -> dict[str, list[LocalModel]]:
    by_model: dict[str, list[LocalModel]] = {}
    for item in found:
        if item.model_id:
            by_model.setdefault(item.model_id, []).append(item)
    return by_model


def describe(model: ModelSpec | None) -> str:
    return model.name if model else "not in the catalog"


__all__ = ["LocalModel", "describe", "installed_ids", "normalize", "scan"]

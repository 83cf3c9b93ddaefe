"""A repo's GGUF files grouped by file type (split parts together, projectors left out), and one file type's
headers read by range requests through the one streaming GGUF header reader (advisor.models.gguf_header)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import IO, Any, Final, cast

from advisor.errors import HubError
from advisor.hub.ranged import RangeFile, TooFar
from advisor.hub.repo import GgufQuant
from advisor.models.gguf_header import HeaderError, read_header
from advisor.models.gguf_read import GgufTensor, file_type_name, type_sizes

_SPLIT: Final = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.gguf$")
_QUANT: Final = re.compile(r"(?:^|[-._])((?:UD-)?(?:I?Q\d[A-Z0-9_]*|TQ\d[A-Z0-9_]*|BF16|F16|F32|MXFP4[A-Z0-9_]*))$",
                           re.IGNORECASE)
_SKIP: Final = ("mmproj", "imatrix")  # vision projectors and importance matrices are not the model's weights


def quant_of(filename: str) -> str | None:
    """The file type a GGUF file's name states (Qwen3-8B-Q4_K_M.gguf -> Q4_K_M), or None."""
    stem = filename.rsplit("/", 1)[-1].removesuffix(".gguf")
    stem = re.sub(r"-\d{5}-of-\d{5}$", "", stem)
    match = _QUANT.search(stem)
    return match.group(1).upper() if match else None


def gguf_groups(names: list[str]) -> dict[str, tuple[str, ...]]:
    """{file type or file stem: its files in order}; a split file's parts together, in part order."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for name in sorted(names):
        base = name.rsplit("/", 1)[-1].lower()
        if not base.endswith(".gguf") or any(s in base for s in _SKIP):
            continue
        split = _SPLIT.match(name)
        key = quant_of(name) or (split.group(1) if split else name.removesuffix(".gguf")).rsplit("/", 1)[-1]
        groups.setdefault(key, []).append((int(split.group(2)) if split else 0, name))
    return {k: tuple(n for _, n in sorted(v)) for k, v in groups.items()}


def read_gguf_quant(quant: str, parts: tuple[str, ...], fetch: Callable[[str, int, int], bytes]) -> GgufQuant:
    """One file type's metadata (from its first part) and the tensors of all its parts, headers only."""
    sizes = type_sizes()
    metadata: dict[str, Any] = {}
    tensors: list[GgufTensor] = []
    for index, part in enumerate(parts):
        handle = RangeFile(partial(fetch, part))
        try:
            fields, found = read_header(cast(IO[bytes], handle), sizes)
        except (HeaderError, TooFar) as err:
            raise HubError("hub", f"{part}: not a readable GGUF header ({err})") from err
        if index == 0:
            metadata = {k: v for k, v in fields.items() if _keep(k, v)}
        tensors += [GgufTensor(*t) for t in found]
    if quant_of(parts[0]) is None:
        quant = file_type_name(metadata.get("general.file_type")) or quant
    return GgufQuant(quant, parts, metadata, tuple(tensors))


def _keep(key: str, value: Any) -> bool:
    """Metadata worth caching: not the chat template and other long text."""
    return not (isinstance(value, str) and len(value) > 1024) and not key.startswith("tokenizer.chat_template")

"""Read a repo from the Hugging Face Hub with huggingface_hub: its file list and sizes (one model_info call),
config.json, the safetensors headers (huggingface_hub's own range reads) and each GGUF file's header (range reads
through advisor.models.gguf_header, a few MiB, never the weights). Everything is cached (advisor.hub.repo): an
unchanged repo (same commit) costs one request, and a cached repo works offline or with the Hub unreachable.

Environment, read on every call: HF_ENDPOINT (another Hub or a mirror), HF_TOKEN or the token file under HF_HOME
(gated and private repos), HF_HUB_OFFLINE (never touch the network). Each request waits at most TIMEOUT_S.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

from advisor.errors import HubError, UnknownRepoError, UsageError
from advisor.hub.gguf_files import gguf_groups, read_gguf_quant
from advisor.hub.names import HubRef
from advisor.hub.repo import HubRepo, load_cached, store
from advisor.models.gguf_read import GgufTensor

TIMEOUT_S: Final = 10.0
MAX_CONFIG_BYTES: Final = 4 * 1024 * 1024
MAX_WEIGHT_FILES: Final = 400
WORKERS: Final = 4
DEFAULT_ENDPOINT: Final = "https://huggingface.co"
T = TypeVar("T")


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline() -> bool:
    return (os.environ.get("HF_HUB_OFFLINE") or "").strip().upper() in ("1", "ON", "YES", "TRUE")


def token() -> str | None:
    """HF_TOKEN, else the token `hf auth login` saved under HF_HOME (default ~/.cache/huggingface)."""
    found = os.environ.get("HF_TOKEN")
    if found:
        return found.strip()
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    try:
        saved = (home / "token").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return saved or None


def fetch(ref: HubRef) -> tuple[HubRepo, list[str]]:
    """The repo (fresh, or cached when unchanged, offline or with the Hub unreachable) and notes on where it came
    from; HubError or UnknownNameError (kind unknown_repo) when neither the Hub nor the cache has it."""
    cached = load_cached(ref.repo_id)
    if offline():
        if cached is None:
            raise HubError("offline", f"{ref.repo_id} is not cached and HF_HUB_OFFLINE is set: run the command once "
                                      "online (unset HF_HUB_OFFLINE) to cache it")
        return cached, [f"HF_HUB_OFFLINE: {ref.repo_id} as cached on {cached.fetched}"]
    try:
        return _fetch(ref, cached)
    except HubError as err:
        if cached is None or err.kind not in ("timeout", "unreachable", "hub"):
            raise
        return cached, [f"the Hub did not answer ({err.kind}): {ref.repo_id} as cached on {cached.fetched}"]


def _fetch(ref: HubRef, cached: HubRepo | None) -> tuple[HubRepo, list[str]]:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint(), token=token() or False)
    info = _call(ref, lambda: api.model_info(ref.repo_id, files_metadata=True, timeout=TIMEOUT_S))
    files = tuple((s.rfilename, s.size) for s in info.siblings or ())
    names = [f for f, _ in files]
    groups = gguf_groups(names)
    wanted = _wanted(ref, groups)
    base = cached if cached is not None and cached.sha and cached.sha == info.sha else None
    missing = {q: p for q, p in wanted.items() if base is None or p not in {g.files for g in base.gguf}}
    if base is not None and not missing:
        return base, []
    weights = [] if groups or base is not None else _safetensors_files(names)
    if len(weights) + sum(len(g) for g in missing.values()) > MAX_WEIGHT_FILES:
        raise HubError("hub", f"{ref.repo_id} has more than {MAX_WEIGHT_FILES} weight files; advisor reads at most "
                              f"{MAX_WEIGHT_FILES} headers")
    config = base.config if base is not None else (
        _call(ref, partial(_config, api, ref)) if "config.json" in names else None)
    tensors = _parallel([partial(_call, ref, partial(_safetensors, api, ref, f)) for f in weights])
    fetch_range = _ranged(api, ref)
    quants = _parallel([partial(_call, ref, partial(read_gguf_quant, q, parts, fetch_range))
                        for q, parts in missing.items()])
    repo = HubRepo(repo_id=ref.repo_id, sha=info.sha, files=files, config=config,
                   safetensors=base.safetensors if base is not None else tuple(t for part in tensors for t in part),
                   gguf=(*(base.gguf if base is not None else ()), *quants), library=info.library_name,
                   fetched=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    store(repo)
    return repo, []


def _wanted(ref: HubRef, groups: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The GGUF file types to read: the one named with the repo (ORG/REPO:QUANT), else all."""
    if ref.quant is None or not groups:
        return groups
    chosen = {q: p for q, p in groups.items() if q.upper() == ref.quant.upper()}
    if not chosen:
        raise UsageError(f"{ref.repo_id} has no {ref.quant} file; it has {', '.join(groups)}")
    return chosen


def _parallel(jobs: list[Callable[[], T]]) -> list[T]:
    if len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def _safetensors_files(names: list[str]) -> list[str]:
    """The model's own weight files: root-level *.safetensors, the transformers shards when both they and a
    consolidated copy (Mistral) are there."""
    root = sorted(n for n in names if "/" not in n and n.endswith(".safetensors"))
    shards = [n for n in root if n.startswith("model")]
    return shards or root


def _config(api: Any, ref: HubRef) -> dict[str, Any]:
    import json

    body = _get(api, ref, "config.json", None)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise HubError("hub", f"{ref.repo_id}: config.json is not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise HubError("hub", f"{ref.repo_id}: config.json is not a JSON object")
    return data


def _safetensors(api: Any, ref: HubRef, filename: str) -> list[GgufTensor]:
    meta = api.parse_safetensors_file_metadata(ref.repo_id, filename, timeout=TIMEOUT_S)
    return [GgufTensor(name, str(info.dtype), int(info.parameter_count),
                       int(info.data_offsets[1] - info.data_offsets[0]))
            for name, info in meta.tensors.items()]


def _ranged(api: Any, ref: HubRef) -> Callable[[str, int, int], bytes]:
    def fetch_range(filename: str, start: int, end: int) -> bytes:
        return _get(api, ref, filename, (start, end))

    return fetch_range


def _get(api: Any, ref: HubRef, filename: str, byte_range: tuple[int, int] | None) -> bytes:
    """One GET of a repo file (a byte range of it), through huggingface_hub's session, headers and error mapping."""
    from huggingface_hub import get_session, hf_hub_url, hf_raise_for_status

    headers = dict(api._build_hf_headers(token=token() or False))  # the client's own headers (user agent, token)
    if byte_range is not None:
        headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    url = hf_hub_url(ref.repo_id, filename, endpoint=api.endpoint)
    response = get_session().get(url, headers=headers, timeout=TIMEOUT_S, follow_redirects=True)
    hf_raise_for_status(response)
    if byte_range is None and len(response.content) > MAX_CONFIG_BYTES:
        raise HubError("hub", f"{ref.repo_id}: {filename} is over {MAX_CONFIG_BYTES // 1024 // 1024} MiB")
    if byte_range is not None and response.status_code != 206 and len(response.content) > byte_range[1] + 1:
        return response.content[byte_range[0]:byte_range[1] + 1]  # a server without Range support sent it all
    return bytes(response.content)


def _call(ref: HubRef, work: Callable[[], T]) -> T:
    """Run one Hub call; its failures become one-line errors that name the repo and what to do."""
    import httpx2
    from huggingface_hub import errors

    where = endpoint()
    try:
        return work()
    except HubError as err:  # a header that is no header: say which repo it came from
        if err.message.startswith(ref.repo_id):
            raise
        raise HubError(err.kind, f"{ref.repo_id}: {err.message}") from err
    except errors.SafetensorsParsingError as err:
        raise HubError("hub", f"{ref.repo_id}: a safetensors header is not readable ({_first_line(err)})") from err
    except errors.GatedRepoError as err:
        raise HubError("gated", f"{ref.repo_id} is gated: accept its terms at {where}/{ref.repo_id} and set HF_TOKEN "
                                "(or run `hf auth login`)") from err
    except errors.RepositoryNotFoundError as err:
        raise UnknownRepoError(f"{ref.repo_id}: no such model repo at {where} (a private one needs HF_TOKEN); check "
                               "the name, or see `advisor models` for catalog models") from err
    except errors.OfflineModeIsEnabled as err:
        raise HubError("offline", f"{ref.repo_id} is not cached and offline mode is on (HF_HUB_OFFLINE)") from err
    except httpx2.TimeoutException as err:
        raise HubError("timeout", f"{ref.repo_id}: the Hub at {where} did not answer within {TIMEOUT_S:g} s; try "
                                  "again, or set HF_HUB_OFFLINE=1 to use repos already cached") from err
    except httpx2.TransportError as err:
        raise HubError("unreachable", f"{ref.repo_id}: cannot reach the Hub at {where} ({type(err).__name__}); "
                                      "check the network or HF_ENDPOINT") from err
    except errors.HfHubHTTPError as err:
        raise HubError("hub", f"{ref.repo_id}: the Hub at {where} answered {_status(err)}; try again later") from err


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def _status(err: Any) -> str:
    response = getattr(err, "response", None)
    return f"HTTP {response.status_code}" if response is not None else "with an error"

"""A local stand-in for the Hugging Face Hub that the real huggingface_hub client talks to (HF_ENDPOINT), and the
weight-file headers it serves, written here in their real formats with real shapes and no tensor data.

It answers what huggingface_hub sends: GET /api/models/{repo} (and /revision/{rev}, with ?blobs=True sizes), the
tree listing /api/models/{repo}/tree/{rev}, and HEAD and GET /{repo}/resolve/{rev}/{file} with Range (206 and
Content-Range); a missing repo is 404 with X-Error-Code RepoNotFound, a missing file 404 EntryNotFound, a gated
repo's files 403 GatedRepo unless the Authorization header carries its token. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse


@dataclass
class FakeFile:
    content: bytes  # the bytes the server has: a header (the tensor data is not stored)
    size: int  # the size the Hub lists (header + tensor data)


@dataclass
class FakeRepo:
    files: dict[str, FakeFile]
    sha: str = "0123456789abcdef0123456789abcdef01234567"
    gated_token: str | None = None  # gated: files need this token
    library: str | None = None


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    authorization: str | None
    served: int = 0  # body bytes sent


@dataclass
class FakeHub:
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    delay_s: float = 0.0  # answer this late (a Hub that hangs)
    url: str = ""


class Handler(BaseHTTPRequestHandler):
    hub: FakeHub  # set on the subclass serve() makes

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        request = Request(self.command, unquote(urlparse(self.path).path), self.headers.get("Range"),
                          self.headers.get("Authorization"))
        self.hub.requests.append(request)
        if self.hub.delay_s:
            time.sleep(self.hub.delay_s)
        path = request.path
        api = re.match(r"^/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?$", path)
        tree = re.match(r"^/api/models/([^/]+/[^/]+)/tree/[^/]+/?(.*)$", path)
        resolve = re.match(r"^/([^/]+/[^/]+)/resolve/[^/]+/(.+)$", path)
        if tree:
            self._tree(tree.group(1))
        elif api:
            self._info(api.group(1))
        elif resolve:
            self._file(resolve.group(1), resolve.group(2), request, head)
        else:
            self._error(404, "RepoNotFound", "Not found")

    def _repo(self, repo_id: str) -> FakeRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
        return repo

    def _info(self, repo_id: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        self._json({"id": repo_id, "modelId": repo_id, "sha": repo.sha, "private": False,
                    "gated": "manual" if repo.gated_token else False, "library_name": repo.library,
                    "siblings": [{"rfilename": n, "size": f.size} for n, f in repo.files.items()]})

    def _tree(self, repo_id: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        self._json([{"type": "file", "path": n, "size": f.size, "oid": f"{i:040x}"}
                    for i, (n, f) in enumerate(repo.files.items())])

    def _file(self, repo_id: str, name: str, request: Request, head: bool) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        if repo.gated_token and request.authorization != f"Bearer {repo.gated_token}":
            self._error(403, "GatedRepo", "Access to model is restricted.")
            return
        file = repo.files.get(name)
        if file is None:
            self._error(404, "EntryNotFound", "Entry not found")
            return
        body, status, extra = file.content, 200, {}
        match = re.match(r"bytes=(\d+)-(\d*)", request.range or "")
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2) or file.size - 1), file.size - 1)
            body, status = file.content[start:end + 1], 206
            extra["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{file.size}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", f'"{repo.sha[:20]}"')
        self.send_header("X-Repo-Commit", repo.sha)
        self.send_header("Accept-Ranges", "bytes")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
            request.served = len(body)

    def _json(self, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def serve(hub: FakeHub) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("BoundHandler", (Handler,), {"hub": hub}))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


# --- weight-file headers, in their real formats ---------------------------------------------------------------

def safetensors_header(tensors: dict[str, tuple[str, list[int]]]) -> tuple[bytes, int]:
    """A safetensors file's header for these tensors (dtype, shape), and the file's full size with its data."""
    width = {"BF16": 2, "F16": 2, "F32": 4, "U32": 4, "F8_E4M3": 1}
    meta: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = width[dtype]
        for d in shape:
            n *= d
        meta[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    body = json.dumps(meta).encode()
    body += b" " * (-len(body) % 8)
    return struct.pack("<Q", len(body)) + body, 8 + len(body) + offset


GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q8_0": (8, 32, 34), "Q4_K": (12, 256, 144), "Q6_K": (14, 256, 210)}


def _gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _gguf_value(value: Any) -> bytes:
    if isinstance(value, bool):
        return struct.pack("<I?", 7, value)
    if isinstance(value, int):
        return struct.pack("<II", 4, value)
    if isinstance(value, float):
        return struct.pack("<If", 6, value)
    if isinstance(value, str):
        return struct.pack("<I", 8) + _gguf_string(value)
    items = b"".join(_gguf_string(v) for v in value)  # arrays of strings (the vocabulary)
    return struct.pack("<IIQ", 9, 8, len(value)) + items


def gguf_header(metadata: dict[str, Any], tensors: list[tuple[str, list[int], str]]) -> tuple[bytes, int, int]:
    """A GGUF v3 header (no tensor data): (header bytes, the file's full size, its tensor bytes)."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, value in metadata.items():
        out += _gguf_string(key) + _gguf_value(value)
    offset = 0
    for name, shape, type_name in tensors:
        type_id, block, block_bytes = GGML[type_name]
        elements = 1
        for d in shape:
            elements *= d
        out += _gguf_string(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        out += struct.pack("<IQ", type_id, offset)
        offset += elements // block * block_bytes
    return out, len(out) + offset, offset

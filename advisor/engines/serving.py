"""The command that starts each serving engine for a serving plan: vLLM, SGLang, llama-server. Pure.

Multi-GPU and multi-node layouts use the engines' own parallelism (advisor runs nothing itself): vLLM tensor and
pipeline parallelism (Ray across nodes), SGLang --tp / --pp-size with --nnodes, llama.cpp RPC servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from advisor.engines import llamacpp
from advisor.engines.run import RunSpec
from advisor.specs import ModelSpec, QuantRecipe


@dataclass(frozen=True, slots=True)
class ServeSpec:
    model: ModelSpec
    recipe: QuantRecipe
    context_tokens: int  # per sequence
    sequences: int  # sequences served at once
    tensor_parallel: int
    pipeline_parallel: int
    nodes: int
    gguf_repo: str | None = None  # llama.cpp: a repository known to host the file (advisor.plan.commands)
    expert_parallel: int = 1  # MoE: groups holding whole experts (1: experts sliced by tensor parallelism)


def serve_command(engine: str, s: ServeSpec) -> str | None:
    """The launch command; None where the model has no repository the engine can load."""
    if engine == "vllm":
        return _vllm(s)
    if engine == "sglang":
        return _sglang(s)
    return _llama_server(s)


def _vllm(s: ServeSpec) -> str | None:
    if s.model.hf_repo is None:
        return None
    parts = [f"vllm serve {quote(s.model.hf_repo)}", f"--max-model-len {s.context_tokens}",
             f"--max-num-seqs {max(1, s.sequences)}", f"--tensor-parallel-size {s.tensor_parallel}"]
    if s.pipeline_parallel > 1:
        parts += [f"--pipeline-parallel-size {s.pipeline_parallel}", "--distributed-executor-backend ray"]
    if s.expert_parallel > 1:  # whole experts spread over the GPUs, not sliced
        parts.append("--enable-expert-parallel")
    if s.recipe.base == "FP8":
        parts.append("--quantization fp8")
    command = " ".join(parts)
    if s.nodes > 1:  # a Ray cluster spans the nodes first
        return f"ray start --head (node 1) / ray start --address=<head>:6379 (nodes 2..{s.nodes}); then {command}"
    return command


def _sglang(s: ServeSpec) -> str | None:
    if s.model.hf_repo is None:
        return None
    parts = [f"python -m sglang.launch_server --model-path {quote(s.model.hf_repo)}",
             f"--context-length {s.context_tokens}", f"--max-running-requests {max(1, s.sequences)}",
             f"--tp {s.tensor_parallel}"]
    if s.pipeline_parallel > 1:
        parts.append(f"--pp-size {s.pipeline_parallel}")
    if s.nodes > 1:
        parts.append(f"--nnodes {s.nodes} --node-rank <0..{s.nodes - 1}> --dist-init-addr <node 0>:5000")
    if s.expert_parallel > 1:
        parts.append(f"--ep-size {s.expert_parallel}")
    if s.recipe.base == "FP8":
        parts.append("--quantization fp8")
    return " ".join(parts)


def _llama_server(s: ServeSpec) -> str:
    """llama-server's own command (advisor.engines.llamacpp) for --parallel slots sharing -c (each slot gets
    -c / --parallel tokens); other nodes as RPC servers."""
    slots = max(1, s.sequences)
    run = RunSpec(s.model, s.recipe, slots * s.context_tokens, "gpu", (), 1.0, 0, slots, "F16", s.gguf_repo)
    command = llamacpp.command(run)
    if s.nodes > 1:
        head, _, note = command.partition("  # ")
        rpc = " --rpc " + ",".join(f"<node{i}>:50052" for i in range(2, s.nodes + 1))
        tail = f"  # {note}" if note else ""
        return f"rpc-server -H 0.0.0.0 -p 50052 (nodes 2..{s.nodes}); then {head}{rpc}{tail}"
    return command

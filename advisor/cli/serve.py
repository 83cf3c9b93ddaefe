"""serve: how many users a machine (or a cluster) serves with vLLM, SGLang or llama-server."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from advisor.cli.app import ContextOpt, FormatOpt, GpuOpt, JsonOpt, app, estimator, load, output_format, show

_TokensOpt = Annotated[int, typer.Option(metavar="TOKENS")]


@app.command()
def serve(ctx: typer.Context, model: Annotated[str, typer.Argument(help="Model id or alias.")],
          gpu: GpuOpt = None, json_: JsonOpt = False, fmt: FormatOpt = "table",
          engine: Annotated[str, typer.Option("--engine", help="vllm, sglang or llama.cpp (llama-server).")] = "vllm",
          users: Annotated[int, typer.Option("--users", help="Concurrent users: the curve runs 1, 2, 4 ... up to "
                                                           "this many.")] = 64,
          context: ContextOpt = None,
          prompt: Annotated[int, typer.Option("--prompt", help="Prompt tokens per request.")] = 1024,
          output: Annotated[int, typer.Option("--output", help="Output tokens per request.")] = 256,
          quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
              "--quant", help="File type [default: vLLM-BF16 for vllm and sglang, Q4_K_M for llama.cpp, or the "
                              "model's own format].")] = None,
          min_tps: Annotated[Optional[float], typer.Option(  # noqa: UP045
              "--min-tps", help="Per-user decode tokens/s the verdict asks for [default: 10, the comfort speed].")
          ] = None,
          max_ttft: Annotated[Optional[float], typer.Option(  # noqa: UP045
              "--max-ttft", help="Longest time to first token in seconds the verdict allows [default: 1, "
                                 "catalog/defaults.yaml max_ttft_s].")] = None,
          nodes: Annotated[int, typer.Option("--nodes", help="Nodes of --gpu each, in a pipeline (vLLM/SGLang "
                                                           "pipeline parallel, llama.cpp RPC).")] = 1,
          interconnect: Annotated[Optional[str], typer.Option(  # noqa: UP045
              "--interconnect", help="Network between nodes: 400Gbps, 50GB/s.")] = None,
          expert_parallel: Annotated[bool, typer.Option(
              "--expert-parallel", help="MoE on vLLM/SGLang: whole experts on each GPU (--enable-expert-parallel, "
                                        "--ep-size) instead of each expert sliced over the GPUs.")] = False) -> None:
    """Serving capacity: concurrent sequences, the throughput curve as users are added, and how many users get a
    usable speed; with the engine's launch command."""
    from advisor.cli.app import machine
    from advisor.cli.plan import check_min_tps, compare_machine
    from advisor.plan.recommend import INTERACTIVE_TOKENS_PER_S
    from advisor.plan.serve import ServeRequest, network_gbps, serve_on
    from advisor.present.serve_views import serve_view

    check_min_tps(min_tps)
    catalog = load(ctx)
    fmt = output_format(json_, fmt)
    target = compare_machine(catalog, gpu, None, None)[0] if gpu else machine(catalog, None, None, None)
    req = ServeRequest(engine=engine.lower(), users=users, context_tokens=context or 8192, prompt_tokens=prompt,
                       output_tokens=output, min_tokens_per_s=min_tps or INTERACTIVE_TOKENS_PER_S,
                       max_ttft_s=max_ttft, quant=quant, nodes=nodes,
                       network_gbps=network_gbps(interconnect) if interconnect else None,
                       expert_parallel=0 if expert_parallel else 1)
    show(serve_view(serve_on(estimator(catalog), catalog.model(model), target, req)), fmt)

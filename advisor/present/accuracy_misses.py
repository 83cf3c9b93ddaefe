"""The narrative of docs/accuracy.md: what the model misses most, and why, in words a reviewer can check against the
tables below it (the figures it quotes are of the shipped fit on today's measurements; update them when these move).
Pure text.
"""

from __future__ import annotations

MISSES = (
    'Decode constants are fitted per backend and GPU family where the device has one: an Apple chip '
    "generation, or a discrete GPU's architecture (Ampere, Ada Lovelace, Blackwell, RDNA 3, RDNA 4 ...; a"
    " workstation card is its consumer twin's die), each pulled toward the pooled fit of its kind; other "
    "devices by backend and class; a family with no measurements on a backend takes its kind's pooled fit, "
    "scaled as it stands to its kind on the backends that measured it. A family "
    'measured on one other device is predicted from that device alone when held out (the RX 9070 XT from '
    "the Radeon AI PRO R9700's rows, up to 22 % slow on Vulkan). The model misses most where a "
    'device or a build is unlike the rest of the set. Qwen3-Next is scored on llama.cpp build 8577 '
    "(Strix Halo, March 2026); its runs on builds before llama.cpp optimized its graph (PRs 17996 and 19375,"
    ' December 2025 to February 2026: a third to two fifths faster decode) are left out, as the estimate '
    'describes a current build; scored, they are 47-130 % slower than predicted and the decode 90th '
    'percentile is 31.1 %. Reasons for the largest misses below: Intel Arc reaches about half the bandwidth'
    " other GPUs reach; prefill runs that predate a step in llama.cpp's kernels (catalog/build_steps.yaml: "
    "tensor or matrix cores for quantized matmuls on CUDA, PR 7676, June 2024, on CDNA 3, PR 14624, July "
    "2025, and on RDNA 3 and 3.5, PR 17576, December 2025; Vulkan's matmul tiles on RDNA 3.5, PR 18749, "
    "January 2026) are left out as older builds (the same Strix Halo "
    "and file prefill 349 t/s in May 2025 and 1,545 in May 2026); prefill efficiency follows the GPU "
    "architecture more than the market segment (ROCm: about 0.35 of the rated FP16 rate on RDNA 4, 0.48 on "
    "RDNA 3, 0.64 on an MI50), so it is fitted per architecture and Apple generation like decode; "
    "92 prefill runs are on a device that is the only one of its family on its backend (the MI50, the DGX Spark, "
    "the RTX 3090 on Vulkan ...): held out, they take their backend's pooled efficiency and are off by a median "
    "18 %, the rest 18 %; the integrated GPUs measured (Strix Halo, 40 CUs, the Radeon 890M, 16, the Radeon 780M, "
    "12, a Ryzen AI Max 385, 32, and Intel's Arc B390) predict each other when held out (Strix Halo's Vulkan "
    "prefill comes out a median 10 % slow from the others, its ROCm prefill 18 % slow; APU prefill 20.7 % over 199 "
    "runs, 21.4 % where a device's efficiency comes from its dense runs first, ablation below); gpt-oss (95 runs) "
    "is priced from 4 % to 14 % fast on the DGX "
    "Spark for the 120B at -ub 2048 and 45-47 % slow at the default -ub 512, 34-51 % fast for the 20B, "
    "from -18 % to +46 % on five GeForce cards in the August 2025 builds of llama.cpp's gpt-oss guide but 80-86 % "
    "fast on its RTX 4090 and 5090 at 2k-8k tokens (which measured no faster than its 4080 SUPER and 5080), and "
    "mostly slow on ROCm and Vulkan (29 of 39 runs, to -70 %), a spread no term explains yet (not its MXFP4 weights: "
    "GLM-4.7-Flash's MXFP4 file prefills within 5 % of its Q4_K_M on one Strix Halo, Vulkan). Against each "
    "device's own dense runs (scripts/expert_ratio.py), the experts' prefill ratio grows with the tokens each "
    "expert gets in a pass on Vulkan as on the tiled backends, and more for gpt-oss's larger experts: Strix "
    "Halo's quantized files on 2026 builds, 0.09-0.13 at 10 tokens, 0.14-0.21 at 16 (gpt-oss-120b 0.26 on ROCm, "
    "0.24-0.40 on Vulkan), 0.21-0.43 at 32, for gpt-oss-20b at 64 0.58 on ROCm and 0.52-0.71 on Vulkan, and "
    "0.44-0.73 at 128 (-ub 2048), where Qwen3.6-35B-A3B at 64 stays at 0.23-0.27, barely above its 16 tokens: "
    "something besides its experts holds that model's prefill (its Gated DeltaNet layers, not modelled, are one "
    "candidate); but the tile term on Vulkan "
    "validates worse held out, alone or with a ratio per backend (ablation below): the ratio's level at 32 tokens "
    "differs by backend and by device more than the devices measured pin down;"
    " Strix Halo's Vulkan prefill at 64k tokens of context (Qwen3-Coder-30B-A3B, a stock July 2026 build) comes "
    "out 89-292 % fast: held out, Vulkan's attention ratio (0.64) rests on one run of two Radeon AI PRO R9700s at 16k "
    "of context and a Ryzen AI Max 385's 8k-token prompt; with Strix Halo's own runs it is 0.51: a ratio is picked "
    "on the median error of all of its backend's dense runs, which moves by under a point between the two "
    "(shipped, Vulkan's prefill at 32k-64k tokens of context comes out a median 10 % fast in sample over 27 runs); a "
    "Radeon PRO W7800's ROCm prefill of 8k-64k-token prompts (2026) comes out 39-60 % slow and Strix Halo's at "
    "16k-64k of context 68-73 % slow (July 2026): ROCm's attention ratio (0.21) rests mostly on runs from builds "
    "before llama.cpp's flash attention on RDNA left rocWMMA (PR 26046, July 2026; 1.7-1.8x faster prompts on "
    "RDNA 3 and 3.5 in PR 24562's measurements); CUDA's attention ratio is 0.64 (0.33 without the cache term, "
    "below), and the RTX 4090's Qwen3.5-9B at 16k-64k of context (one layer in four attends, with 256-wide heads) "
    "comes out 22-70 % fast held out while the RTX 4080's gpt-oss-20b at 8k-28k (64-wide heads) comes out 11-40 % "
    "slow: one ratio serves every model on a backend, and llama.cpp picks its flash-attention kernel by head size "
    "(on RDNA, heads wider than 128 fall back to its tile kernel: PR 28529, issue 26220), which the model does not "
    "price;"
    " a prompt token's attention also reads the cache it attends to, once per 64 prompt tokens (fitted; "
    "docs/estimation.md), so a model with few KV heads or a quantized cache, and a device with more bandwidth for "
    "its compute, lose less to a long context: leaving each device out, the 166 prefill runs whose tokens attend to "
    "4k tokens of context or more on average go from 22.9 % to 18.4 % (ablation below);"
    " the Radeon 890M's ROCm decode comes out a median 45 % fast from Strix Halo's ROCm constants (two sources; its"
    " Vulkan decode 20 %), and Strix Halo's, held out, a median 10 % slow on Vulkan and on ROCm from the"
    " 890M's pulled toward the backend's discrete cards (16 % and 15 % slow from the 890M's alone): the two APUs"
    " stream their memory at about 0.6 and 0.8 of its bandwidth on ROCm, which no fact in the catalog tells apart;"
    " the M5 Max, the "
    "first M5-generation chip with Metal runs, decoded 11-39 % faster than Metal's pooled Apple constants priced it "
    "when held out (an M5 spends less fixed time per layer than the older chips), and within 13 % slow to 16 % fast "
    "since a family with no runs on a backend takes its kind's pooled fit scaled as it stands to its kind on the "
    "backends that measured it (here MLX, where the base M5 was measured; the M1 Pro, MLX's only M1, now takes Metal's "
    "2023-24 M1 fits and comes out a median 20 % slow, was 3 %); its MLX MoE decode comes out up to 104 % fast "
    "(GLM-4.7-Flash at 22k of context; MLX decode at 8k or more of context, 18 runs, a median 23 % fast);"
    ' CPU decode on old or mobile cores (a 2014 Haswell, a Lunar Lake) is slower per '
    'thread than the fitted core bound; decode at 32k tokens on Strix Halo reads the cache slower than '
    'the weights; MLX prefill rests on 54 rows from four chips (dense Llama 3.3 70B on an M3 Max, MoE models and '
    "Qwen3-4B on an M4 Max, small models on a fanless M5 MacBook Air, Gemma 4 and Qwen3.6 on an M5 Max), priced "
    "with a MoE's "
    "experts at the dense efficiency, as mlx-lm batches each expert's rows: dense models agree (the M5 Max's within "
    "18 % but its two smallest Gemma 4 models at 2,048 tokens, 46-58 % slow: mlx_lm.benchmark's prompt time holds "
    "a fixed part, so 512 tokens run slower per token than 2,048; the M4 Max's Qwen3-4B 20-22 % slow at 2,048), "
    "and so do the M4 Max's gpt-oss-20b and "
    "Qwen3-30B-A3B, but experts that get few tokens each run well below it: the M5 Max's Qwen3.6-35B-A3B (256 "
    "experts, 16 tokens each at 512) comes out 83-380 % fast, its Gemma 4 26B-A4B 17-166 %, the M5's "
    "Qwen3.5-35B-A3B 172 %. llama.cpp's MoE prefill efficiency varies by backend and build "
    "more than one shared ratio captures; on CUDA it follows the tokens each expert gets in a pass (the tile term, "
    "docs/estimation.md); on ROCm, which builds the same MMQ kernels, Strix Halo's pp512 runs follow it too "
    "(Qwen3-Next and Qwen3-Coder-Next at 10 tokens per expert 57-97 % fast without it, held out), and ROCm takes "
    "the term: it left when the Radeon "
    "890M's runs came in and earns its place again with round 12's (ablation below). vLLM on the MI300X, the "
    "only ROCm device "
    "with vLLM runs, takes vLLM's "
    'CUDA constants when held out and comes out 12-46 % fast (its own, shipped, are fitted on those '
    "runs). llama.cpp's -sm tensor runs (two GPUs, 2026 builds) are priced on the tensor-parallel lane with the "
    "catalog's all-reduce link and nothing fitted to them (section \"Decode by GPUs\"); the Tesla V100 runs are left "
    'out as a Volta miss (their reason below). Ranges shown beside every estimate are a band of these '
    "errors for the device's decode constants' key (prefill: its backend's), as wide as it takes for 80 % of "
    'held-out runs to fall inside; the section "Do the ranges hold?" counts how often they do.'
)

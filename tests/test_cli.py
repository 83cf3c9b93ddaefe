"""The command line as a user runs it: JSON keys, golden text, errors without tracebacks."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from advisor import __version__
from advisor.cli import main

GOLDEN = Path(__file__).parent / "golden"
HYPOTHETICAL = ["--gpu", "RTX 4090", "--ram", "64GB"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version")[1].strip() == f"advisor {__version__}"


def test_hardware_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "hardware")
    assert {"schema_version", "command", "hardware", "results", "errors"} <= set(data)
    hw = data["hardware"]
    assert hw["source"] == "probe"
    assert {"source", "devices", "ram_total_bytes", "ram_available_bytes", "notes"} <= set(hw)


def test_recommend_json_keys_and_nulls(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "recommend", *HYPOTHETICAL)
    assert data["schema_version"] == 1 and data["command"] == "recommend" and data["errors"] == []
    device = data["hardware"]["devices"][0]
    assert {"name", "kind", "memory_total_bytes", "memory_usable_bytes", "bandwidth_gbps"} <= set(device)
    assert data["hardware"]["source"] == "hypothetical"
    for result in data["results"]:
        assert {"model", "quant", "context_tokens", "placement", "memory", "speed"} <= set(result)
        assert {"id", "name"} <= set(result["model"])
        assert {"weights_bytes", "kv_cache_bytes", "overhead_bytes", "total_bytes"} <= set(result["memory"])
        assert {"decode_tokens_per_s", "prefill_tokens_per_s", "basis"} <= set(result["speed"])
        assert result["placement"] in ("gpu", "gpu+cpu", "cpu", "none")
        if result["placement"] == "none":
            assert result["speed"]["decode_tokens_per_s"] is None
            assert result["speed"]["prefill_tokens_per_s"] is None
        if result["placement"] == "gpu":
            assert result["memory"]["total_bytes"] <= device["memory_usable_bytes"]


def test_two_3090s_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "recommend", "--gpu", "2x RTX 3090", "--context", "32768")
    devices = data["hardware"]["devices"]
    assert [d["memory_total_bytes"] for d in devices] == [24 * 1024**3] * 2
    assert all(r["context_tokens"] <= 32768 for r in data["results"])


def test_estimate_json_covers_each_quant(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "estimate", "qwen3.5-35b-a3b", "--gpu", "RTX 4090")
    quants = [r["quant"] for r in data["results"]]
    assert "Q4_K_M" in quants and "Q8_0" in quants and "MLX-4bit" not in quants
    assert {r["model"]["id"] for r in data["results"]} == {"qwen3.5-35b-a3b"}


def test_estimate_golden_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", *HYPOTHETICAL)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 200  # piped: lines whole, tables up to 200 (docs/cli.md)
    expected = (GOLDEN / "estimate_llama_8b_4090.txt").read_text()
    assert [line.rstrip() for line in out.splitlines()] == expected.splitlines()


@pytest.mark.parametrize(("args", "code", "words"), [
    (["recommend", "--gpu", "RTX 9999"], 2, "RTX 4090"),
    (["estimate", "no-such-model"], 2, "unknown model"),
    (["recommend", "--ram", "lots"], 2, "memory size"),
    (["recommend", "--context", "0"], 2, "--context"),
    (["recommend", "--context", "4096", "--depth", "99999"], 2, "--depth"),
    (["recommend", "--bogus"], 2, "bogus"),
    (["estimate", "llama-3.1-8b", "--quant", "Q9_Z"], 2, "quantization"),
])
def test_user_errors_are_one_line_with_a_code(capsys: pytest.CaptureFixture[str], args: list[str], code: int,
                                             words: str) -> None:
    got, _out, err = run(capsys, *args)
    assert got == code
    assert words in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_errors_come_as_an_envelope_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    got, out, _ = run(capsys, "recommend", "--gpu", "RTX 9999", "--json")
    data = json.loads(out)
    assert got == 2 and data["results"] == [] and data["errors"][0]["exit_code"] == 2
    assert "RTX 4090" in data["errors"][0]["message"]


@pytest.mark.parametrize(("flags", "starts"), [(["--json"], b"{"), ([], b"Hypothetical")])
def test_console_script_pipes_into_head_quietly(flags: list[str], starts: bytes) -> None:
    # the table path goes through rich, whose own broken-pipe handler would exit 1
    advisor = subprocess.Popen([sys.executable, "-m", "advisor", "recommend", *flags, *HYPOTHETICAL],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert advisor.stdout is not None
    first = advisor.stdout.read(12)
    advisor.stdout.close()
    _, err = advisor.communicate(timeout=60)
    assert first.startswith(starts)
    assert advisor.returncode == 0 and b"Traceback" not in err and err == b""


def test_models_lists_and_filters(capsys: pytest.CaptureFixture[str]) -> None:
    everything = run_json(capsys, "models")["results"]
    assert len(everything) >= 60
    assert all(r["source"].startswith("https://") for r in everything)
    moe = run_json(capsys, "models", "--moe", "--max-params", "40")["results"]
    assert moe and all(r["is_moe"] and r["params_total"] <= 40e9 for r in moe)
    qwen = run_json(capsys, "models", "--family", "qwen3.5")["results"]
    assert {r["id"] for r in qwen} >= {"qwen3.5-27b", "qwen3.5-35b-a3b"}


def test_gpus_filter_by_vendor_and_memory(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "gpus", "--vendor", "nvidia", "--min-memory", "48GB")["results"]
    assert rows and all(r["vendor"] == "nvidia" and r["memory_bytes"] >= 48 * 1024**3 for r in rows)
    assert len(run_json(capsys, "gpus")["results"]) >= 120


def test_model_shows_every_fact_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    (entry,) = run_json(capsys, "model", "gpt-oss-20b")["results"]
    assert entry["layout"]["sliding_window"] == 128 and entry["params_source"].startswith("https://")
    code, out, _ = run(capsys, "model", "gpt-oss-20b")
    assert code == 0 and "https://" in out and "SWA 12/24 @128" in out


def test_recommend_for_a_use_says_which_score_ranked_it(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "recommend", "--use", "coding", *HYPOTHETICAL)
    assert data["ranking"]["use"] == "coding"
    assert data["ranking"]["benchmarks"] == ["swe_bench_verified", "livecodebench"]
    scored = [r for r in data["results"] if r["use_score"]]
    assert scored and all(r["use_score"]["benchmark"] in ("swe_bench_verified", "livecodebench") for r in scored)
    gpu = [r for r in data["results"] if r["placement"] == "gpu"]
    first_unscored = next(i for i, r in enumerate(gpu) if r["use_score"] is None)
    assert all(r["use_score"] is None for r in gpu[first_unscored:])  # scored models rank first
    _, out, _ = run(capsys, "recommend", "--use", "coding", *HYPOTHETICAL)
    assert "ranked for coding" in out and "Ranked by" in out


def test_unknown_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "recommend", "--use", "poetry")
    assert code == 2 and "coding" in err


def test_malformed_user_catalog_is_one_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "broken.yaml").write_text("models:\n  - id: mine\n    name: Mine\n    family: x\n"
                                                     "    params: {total: lots, source: https://example.org}\n")
    code, _, err = run(capsys, "--catalog", str(tmp_path), "models")
    assert code == 3
    assert "broken.yaml" in err and "params › total" in err and err.count("\n") == 1
    assert run(capsys, "models", "--json")[0] == 0  # the shipped catalog still loads


def test_ram_bandwidth_by_configuration_name(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "hardware", "--gpu", "none", "--ram", "64GB", "--ram-bandwidth", "ddr5-6000-2ch")
    assert data["hardware"]["ram_bandwidth_gbps"] == 96.0
    assert data["hardware"]["devices"] == []
    assert run(capsys, "hardware", "--ram-bandwidth", "-5")[0] == 2


def test_compare_three_machines_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "compare", "RTX 4090", "2x RTX 3090", "M4 Max 128GB", "--ram", "64GB",
                    "--model", "gpt-oss-120b", "--model", "llama-3.3-70b")
    assert [m["label"] for m in data["machines"]] == ["RTX 4090", "2x RTX 3090", "M4 Max 128GB"]
    assert len(data["machines"][1]["devices"]) == 2
    assert data["machines"][2]["ram_total_bytes"] == 128 * 1024**3  # unified memory, not --ram
    by_model = {r["model"]["id"]: r["machines"] for r in data["results"]}
    assert by_model["llama-3.3-70b"][1]["placement"] == "gpu"  # two 24 GB cards hold a 70B at Q4_K_M
    assert by_model["llama-3.3-70b"][0]["placement"] == "gpu+cpu"
    assert data["summary"]


def test_compare_needs_two_machines(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "compare", "RTX 4090")[0] == 2


def test_plan_lists_hardware_cheapest_first(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "plan", "gpt-oss-120b", "--context", "32768", "--min-tps", "40", "--sort", "price")
    assert data["results"] and data["min_memory_bytes"] > 60e9 and data["sort"] == "price"
    assert all(r["speed"]["decode_tokens_per_s"] >= 40 for r in data["results"])
    assert all(r["placement"] == "gpu" or (r["placement"] == "gpu+cpu" and r["ram_bytes"]) for r in data["results"])
    prices = [r["price_usd"] for r in data["results"] if r["price_usd"] is not None]
    assert prices == sorted(prices)


def test_plan_puts_the_price_ladder_first(capsys: pytest.CaptureFixture[str]) -> None:
    """Cheapest first, then each dearer configuration only where it is at least 10% faster: the first screen says
    what more money buys, with a 24 GB card + 64 GB RAM on it for gpt-oss-120b (docs/ranking.md)."""
    data = run_json(capsys, "plan", "gpt-oss-120b")
    rows = data["results"]
    cheapest = min(r["price_usd"] for r in run_json(capsys, "plan", "gpt-oss-120b", "--limit", "0")["results"]
                   if r["price_usd"] is not None and r["speed"]["decode_tokens_per_s"] >= 5)
    assert rows[0]["price_usd"] == cheapest
    ladder = [rows[0]]
    for r in rows[1:]:
        if r["price_usd"] is None or r["price_usd"] < ladder[-1]["price_usd"]:
            break
        ladder.append(r)
    assert len(ladder) >= 5
    for low, high in itertools.pairwise(ladder):
        assert high["speed"]["decode_tokens_per_s"] >= 1.1 * low["speed"]["decode_tokens_per_s"] - 0.1
    split = [r for r in ladder if r["placement"] == "gpu+cpu"]
    assert any(r["memory_total_bytes"] == 24 * 1024**3 for r in split)  # a 24 GB card + 64 GB RAM
    assert any(r["placement"] == "gpu" for r in ladder)  # and where all-GPU starts
    for sort, key in (("speed", lambda r: -r["speed"]["decode_tokens_per_s"]),
                      ("name", lambda r: r["hardware"].lower())):
        got = run_json(capsys, "plan", "qwen3-30b-a3b", "--sort", sort, "--limit", "20")["results"]
        assert got == sorted(got, key=key)
    slow = run_json(capsys, "plan", "llama-3.3-70b")["results"]
    assert all(r["speed"]["decode_tokens_per_s"] >= 5 for r in slow)  # below the usable floor: after the rest
    assert run(capsys, "plan", "gpt-oss-120b", "--sort", "cost")[0] == 2


def test_plan_shows_ten_and_says_how_many_more(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "plan", "gpt-oss-120b")
    assert len(data["results"]) == 10 and data["total"] > 10
    assert len(run_json(capsys, "plan", "gpt-oss-120b", "--limit", "0")["results"]) == data["total"]
    assert len(run_json(capsys, "plan", "gpt-oss-120b", "--limit", "3")["results"]) == 3
    code, out, _ = run(capsys, "plan", "gpt-oss-120b")
    assert code == 0 and f"… {data['total'] - 10} more (--limit 0 for all)" in out
    assert "Run it on " in out and "llama-server " in out
    assert run(capsys, "plan", "gpt-oss-120b", "--limit", "-1")[0] == 2


def test_plan_proposes_a_gpu_and_system_ram(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "plan", "gpt-oss-120b", "--limit", "0")
    rtx = next(r for r in data["results"] if r["hardware"] == "NVIDIA GeForce RTX 4090 + 64 GB RAM")
    assert rtx["placement"] == "gpu+cpu" and rtx["ram_bytes"] == 64 * 1024**3 and rtx["count"] == 1
    assert 20 <= rtx["speed"]["decode_tokens_per_s"] <= 40  # advisor's own 4090 + 64 GB runs it at 24-35 t/s
    assert rtx["placement_detail"]["n_cpu_moe"] > 0
    assert "--n-cpu-moe" in rtx["commands"]["llama.cpp"]
    split = [r for r in data["results"] if r["placement"] == "gpu+cpu"]
    assert all(r["speed"]["decode_tokens_per_s"] >= data["offload_min_tokens_per_s"] == 5 for r in split)
    assert all(r["commands"]["llama.cpp"].startswith("llama-server ") for r in data["results"])
    speeds = [r["speed"]["decode_tokens_per_s"] for r in data["results"]]
    assert speeds == sorted(speeds, key=lambda v: v is None)  # rows with no speed come last


def test_plan_filters_by_price_and_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "plan", "gpt-oss-120b", "--max-price", "2000", "--vendor", "NVIDIA", "--limit", "0")
    assert data["results"]
    assert all(r["price_usd"] is not None and r["price_usd"] <= 2000 for r in data["results"])
    assert all(r["gpu"]["vendor"] == "nvidia" for r in data["results"])
    assert data["max_price_usd"] == 2000 and data["vendor"] == "nvidia"
    apple = run_json(capsys, "plan", "gpt-oss-120b", "--vendor", "apple", "--limit", "0")["results"]
    assert apple and all(r["placement"] == "gpu" for r in apple)
    assert run(capsys, "plan", "gpt-oss-120b", "--vendor", "acme")[0] == 2
    assert run(capsys, "plan", "gpt-oss-120b", "--max-price", "-5")[0] == 2
    assert run(capsys, "plan", "gpt-oss-120b", "--max-price", "nan")[0] == 2


@pytest.mark.parametrize(("spec", "memory", "count"), [
    ("2x3090", 24, 2), ("4090+3090", 24, 2), ("rtx-4090", 24, 1), ("24GB@1008GBps", 24, 1), ("m3-ultra-512", 512, 1),
    ("M4 Max 64GB", 64, 1),
])
def test_hardware_grammar(capsys: pytest.CaptureFixture[str], spec: str, memory: int, count: int) -> None:
    devices = run_json(capsys, "hardware", "--gpu", spec, "--ram", "64GB")["hardware"]["devices"]
    assert len(devices) == count and devices[0]["memory_total_bytes"] == memory * 1024**3


def test_vram_and_bandwidth_make_a_custom_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    (device,) = run_json(capsys, "hardware", "--vram", "16GB", "--bandwidth", "448", "--ram", "32GB")["hardware"][
        "devices"]
    assert device["bandwidth_gbps"] == 448 and device["fp16_tflops"] is None


@pytest.mark.parametrize("spec", ["M4 Max 100GB", "0x 4090", "17x 4090", "RTX 9999", "24GB@-5"])
def test_bad_hardware_specs_exit_2(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    code, _, err = run(capsys, "hardware", "--gpu", spec, "--ram", "64GB")
    assert code == 2 and "Traceback" not in err


def test_every_recommendation_carries_a_llama_cpp_command(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "recommend", *HYPOTHETICAL)
    for r in data["results"]:
        if r["placement"] != "none":
            assert r["commands"]["llama.cpp"].startswith("llama-server ")
            assert f"-c {r['context_tokens']}" in r["commands"]["llama.cpp"]
    gpt = next(r for r in data["results"] if r["model"]["id"] == "gpt-oss-20b")
    assert gpt["commands"]["ollama"].startswith("ollama run gpt-oss:20b")


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_tabular_formats(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--format", fmt, *HYPOTHETICAL)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("Quant,") if fmt == "csv" else first.startswith("| Quant |")
    assert "Q4_K_M" in out and "\x1b[" not in out


def test_plan_labels_name_each_size_once() -> None:
    from advisor.catalog.load import load_catalog
    from advisor.plan.compare import plan_configurations

    labels = [label for label, *_ in plan_configurations(load_catalog())]
    assert len(labels) == len(set(labels))
    assert not [label for label in labels if re.search(r"(\d+GB) \1$", label)]  # not "Orin 64GB 64GB"
    assert any(label.startswith("Apple M4 Max") and label.endswith("GB") for label in labels)


def test_plan_table_names_configurations_without_their_maker() -> None:
    """The table drops the maker so 80 columns keep the card's own name; every shortened name stays distinct."""
    from advisor.catalog.load import load_catalog
    from advisor.plan.compare import plan_configurations
    from advisor.present.plan_tables import short_label

    labels = [label for label, *_ in plan_configurations(load_catalog())]
    assert len({short_label(label) for label in labels}) == len(labels)
    assert short_label("NVIDIA GeForce RTX 5090 + 64 GB RAM") == "RTX 5090 + 64 GB RAM"
    assert short_label("4x AMD Radeon RX 7900 XTX") == "4x RX 7900 XTX"
    assert short_label("AMD Radeon PRO W7900") == "Radeon PRO W7900"


def test_recommend_limit_and_quality_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "recommend", "--limit", "3", *HYPOTHETICAL)
    assert len(data["results"]) == 3 and data["ranking"]["total"] > 3
    first = data["results"][0]
    assert first["usable"] is True and first["why_not_usable"] is None
    assert set(first["quality"]) >= {"index", "value", "adjusted", "source"}
    everything = run_json(capsys, "recommend", *HYPOTHETICAL)["results"]
    assert len(everything) == data["ranking"]["total"]
    assert any(r["quality"] is None for r in everything)  # quality unknown
    _, out, _ = run(capsys, "recommend", *HYPOTHETICAL)
    assert "(--limit 0 for all)" in out and " Quality" in out
    code, _, err = run(capsys, "recommend", "--min-tps", "nan", *HYPOTHETICAL)
    assert code == 2 and "--min-tps" in err
    code, _, err = run(capsys, "recommend", "--limit", "-1", *HYPOTHETICAL)
    assert code == 2 and "--limit" in err


def test_compare_assumes_the_catalog_ram_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "compare", "RTX 4090", "2x RTX 3090", "M4 Max 128GB", "--model", "gpt-oss-120b")
    rtx, pair, mac = data["machines"]
    assert rtx["ram_total_bytes"] == pair["ram_total_bytes"] == 64 * 1024**3  # not this machine's RAM
    assert rtx["ram_assumed"] and pair["ram_assumed"] and not mac["ram_assumed"]
    assert pair["gpu_memory_total_bytes"] == 48 * 1024**3
    assert data["min_tokens_per_s"] == 10
    code, out, _ = run(capsys, "compare", "RTX 4090", "2x RTX 3090", "M4 Max 128GB", "--model", "gpt-oss-120b")
    assert code == 0
    assert "RAM 64.0 GiB assumed (--ram to change" in out
    assert "2× RTX 3090 (48.0 GiB in all" in out
    assert "prefill" in out


def test_compare_ram_once_per_machine(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "compare", "RTX 4090", "none", "--ram", "32GB", "--ram", "128GB", "--model",
                    "llama-3.1-8b")
    assert [m["ram_total_bytes"] for m in data["machines"]] == [32 * 1024**3, 128 * 1024**3]
    assert not any(m["ram_assumed"] for m in data["machines"])
    assert run(capsys, "compare", "RTX 4090", "none", "4090", "--ram", "32GB", "--ram", "64GB")[0] == 2


def test_compare_cells_carry_prefill_and_the_summary_counts_gpu_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "compare", "RTX 4090", "2x RTX 3090", "--model", "llama-3.3-70b", "--model",
                    "llama-3.1-8b", "--model", "gpt-oss-120b", "--min-tps", "20")
    cells = {r["model"]["id"]: r["machines"] for r in data["results"]}
    assert cells["llama-3.1-8b"][0]["speed"]["prefill_tokens_per_s"] > 0
    assert cells["gpt-oss-120b"][0]["placement"] == "gpu+cpu"
    assert "RTX 4090: runs 1 of 3 model(s) all on GPU and 2 with GPU+CPU" in data["summary"]
    assert data["min_tokens_per_s"] == 20


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_min_tps_must_be_positive_and_finite(capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert run(capsys, "compare", "RTX 4090", "RTX 3090", "--min-tps", value)[0] == 2
    assert run(capsys, "plan", "gpt-oss-120b", "--min-tps", value)[0] == 2


def test_plan_offers_gpu_and_ram_only_where_one_gpu_is_not_enough(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "plan", "llama-3.1-8b", "--limit", "0")  # dense, and one small GPU holds it
    assert data["results"] and all(r["placement"] == "gpu" and r["ram_bytes"] is None for r in data["results"])
    code, out, _ = run(capsys, "plan", "llama-3.1-8b")
    assert code == 0 and "system RAM" not in out


def test_compare_counts_cpu_only_placements(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "compare", "none", "RTX 4090", "--model", "llama-3.1-8b")
    assert data["machines"][0]["ram_assumed"] and data["results"][0]["machines"][0]["placement"] == "cpu"
    assert "none: runs 0 of 1 model(s) all on GPU and 0 with GPU+CPU (1 more on the CPU alone)" in data["summary"]


FIRST_SCREEN_LINES = 22
FIRST_SCREENS = {
    "rtx4090_64gb": ["--gpu", "RTX 4090", "--ram", "64GB"],
    "2x3090_64gb": ["--gpu", "2x RTX 3090", "--ram", "64GB"],
    "m4max_128gb": ["--gpu", "M4 Max 128GB"],
    "cpu_32gb_60gbs": ["--gpu", "none", "--ram", "32GB", "--ram-bandwidth", "60"],
    "jetson_orin_nano_super": ["--gpu", "Jetson Orin Nano Super 8GB"],
}


def first_screen(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    """The first FIRST_SCREEN_LINES lines of piped `advisor recommend ARGS`, trailing spaces trimmed."""
    code, out, err = run(capsys, "recommend", *args)
    assert code == 0, err
    return "".join(line.rstrip() + "\n" for line in out.splitlines()[:FIRST_SCREEN_LINES])


@pytest.mark.parametrize("name", sorted(FIRST_SCREENS))
def test_recommend_first_screen_golden(capsys: pytest.CaptureFixture[str], name: str) -> None:
    """tests/golden/recommend_<machine>.txt: what a person sees first for five machines, for a reviewer to read.

    After an intended change, rewrite them with
        ADVISOR_UPDATE_GOLDEN=1 python -m pytest -q tests/test_cli.py -k first_screen
    and read the diff (`git diff tests/golden`); README.md's Example block is the rtx4090_64gb file.
    """
    import os

    path = GOLDEN / f"recommend_{name}.txt"
    text = first_screen(capsys, FIRST_SCREENS[name])
    if os.environ.get("ADVISOR_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"stale {path.name}: rerun with ADVISOR_UPDATE_GOLDEN=1 and read the diff"


def test_readme_example_is_the_rtx4090_first_screen() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    golden = (GOLDEN / "recommend_rtx4090_64gb.txt").read_text()
    assert f"```text\n{golden}```\n" in readme, \
        "README.md's Example block: paste tests/golden/recommend_rtx4090_64gb.txt"


def test_compare_ranks_sorts_limits_and_fixes_the_quant(capsys: pytest.CaptureFixture[str]) -> None:
    machines = ("RTX 4090", "M4 Max 128GB", "--ram", "64GB")
    data = run_json(capsys, "compare", *machines)
    assert data["total"] == len(data["results"]) > 15 and data["sort"] == "quality"
    first = data["results"][0]["machines"]
    assert any(c["placement"] != "none" and (c["speed"]["decode_tokens_per_s"] or 0) >= 5 for c in first)
    last = data["results"][-1]["machines"]
    assert all(c["placement"] == "none" for c in last)  # fits nowhere: last
    code, out, _ = run(capsys, "compare", *machines)
    assert code == 0 and f"… and {data['total'] - 15} more (--limit 0 for all)" in out
    assert out.count(" t/s") >= 15 and "Qwen3-Coder-480B" not in out  # not the catalog's order any more
    fast = run_json(capsys, "compare", *machines, "--sort", "speed", "--limit", "5")["results"]
    best = [max(c["speed"]["decode_tokens_per_s"] or 0 for c in r["machines"]) for r in fast]
    assert len(fast) == 5 and best == sorted(best, reverse=True)
    named = [r["model"]["name"].lower() for r in run_json(capsys, "compare", *machines, "--sort", "name")["results"]]
    assert named == sorted(named)
    fixed = run_json(capsys, "compare", *machines, "--quant", "Q4_K_M", "--model", "llama-3.1-8b")["results"]
    assert [c["quant"] for c in fixed[0]["machines"]] == ["Q4_K_M", "Q4_K_M"]
    assert run(capsys, "compare", *machines, "--quant", "Q9")[0] == 2
    assert run(capsys, "compare", *machines, "--sort", "price")[0] == 2
    assert run(capsys, "compare", *machines, "--limit", "-2")[0] == 2


def test_a_command_that_imports_another_commands_module_leaves_that_command_runnable() -> None:
    # serve imports advisor.cli.plan's helpers while it runs; typer is narrowed to serve then, and plan's commands
    # must still be there for the next call in the same process (a fresh interpreter: module state is the point)
    script = ("import contextlib, io\nfrom advisor.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    main(['serve', 'llama-3.1-8b', '--gpu', 'H100', '--json'])\n"
              "    main(['plan', 'llama-3.1-8b', '--json', '--limit', '1'])\n"
              "    main(['compare', 'RTX 4090', 'RTX 3090', '--json', '--limit', '1'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr

"""The hardware grammar people type (issue 11) and its bounds (issue 15)."""

from __future__ import annotations

import time

import pytest

from advisor.catalog.load import load_catalog
from advisor.errors import UsageError
from advisor.estimate.grammar import MAX_GPUS, hypothetical_devices
from advisor.specs.facts import Catalog
from advisor.units import GIB, parse_tokens
from tests.test_cli import run, run_json


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def ids(text: str, catalog: Catalog) -> list[str | None]:
    return [d.catalog_id for d in hypothetical_devices(text, catalog)]


def message(text: str, catalog: Catalog) -> str:
    with pytest.raises(UsageError) as err:
        hypothetical_devices(text, catalog)
    return err.value.message


def test_apple_chip_with_a_memory_it_is_sold_with_picks_that_bin(catalog: Catalog) -> None:
    (device,) = hypothetical_devices("M4 Max 36GB", catalog)
    assert (device.catalog_id, device.memory_total_bytes) == ("m4-max-32c", 36 * GIB)
    (device,) = hypothetical_devices("M4 Max 128GB", catalog)
    assert (device.catalog_id, device.memory_total_bytes) == ("m4-max-40c", 128 * GIB)
    assert "sold with 36GB, 48GB, 64GB, 128GB, not 100GB" in message("M4 Max 100GB", catalog)
    assert "not 36GB" in message("M4 Max 40-core 36GB", catalog)  # a named bin is kept


def test_plus_inside_a_product_name_does_not_split_it(catalog: Catalog) -> None:
    assert ids("Ryzen AI Max+ 395", catalog) == ["ryzen-ai-max-395"]
    assert ids("AI Max+ 395", catalog) == ["ryzen-ai-max-395"]
    assert ids("Ryzen AI Max+ 395+4090", catalog) == ["ryzen-ai-max-395", "rtx-4090"]
    assert ids("4090+Ryzen AI Max+ 395", catalog) == ["rtx-4090", "ryzen-ai-max-395"]
    assert [d.memory_total_bytes for d in hypothetical_devices("Ryzen AI Max+ 395 64GB", catalog)] == [64 * GIB]
    assert ids("2x 4090+3090", catalog) == ["rtx-4090", "rtx-4090", "rtx-3090"]
    assert [d.index for d in hypothetical_devices("2x 4090+3090", catalog)] == [0, 1, 2]


@pytest.mark.parametrize("text", ["rtx4090", "RTX4090", "Rtx4090", "RTX 4090", "4090"])
def test_names_typed_without_a_space(text: str, catalog: Catalog) -> None:
    assert ids(text, catalog) == ["rtx-4090"]


def test_a_bare_size_asks_for_the_bandwidth_form(catalog: Catalog) -> None:
    text = message("24GB", catalog)
    assert "bandwidth" in text and "24GB@1008" in text and "--vram 24GB --bandwidth" in text
    assert "H200" not in text


def test_gpu_count_is_bounded_across_all_parts(catalog: Catalog) -> None:
    assert len(hypothetical_devices("8x4090+8x3090", catalog)) == MAX_GPUS
    assert "at most 16 GPUs in all, got 32" in message("16x4090+16x3090", catalog)
    assert "at most 16 GPUs in all, got 17" in message("16x4090+3090", catalog)
    assert "between 1 and 16" in message("9" * 900 + "x 4090", catalog)
    assert "between 1 and 16, got 17 in '17x 4090'" in message("17x 4090", catalog)


def test_thousands_of_parts_are_rejected_at_once(catalog: Catalog) -> None:
    start = time.perf_counter()
    for text in ("4090+" * 5000 + "4090", "+" * 100_000, "a" * 1_000_000):
        assert "too long" in message(text, catalog)
    assert time.perf_counter() - start < 1.0


def test_each_part_is_named_in_its_message(catalog: Catalog) -> None:
    assert "'RTX 9999' in --gpu '4090+RTX 9999'" in message("4090+RTX 9999", catalog)
    assert "'24GB@-5'" in message("4090+24GB@-5", catalog)
    assert "empty part" in message("4090++3090", catalog)


@pytest.mark.parametrize(("spec", "shown"), [("24GB@-5", "got -5"), ("24GB@1e308", "got 1e308"),
                                             ("24GB@0", "got 0"), ("24GB@nan", "got nan"),
                                             ("24GB@100001", "got 100001"), ("24GB@fast", "got fast")])
def test_custom_bandwidth_is_checked_and_named(spec: str, shown: str, catalog: Catalog) -> None:
    text = message(spec, catalog)
    assert text.startswith(f"bandwidth in '{spec}' must be a positive number of GB/s") and shown in text
    assert "unknown GPU" not in text


def test_custom_gpu_still_reads(catalog: Catalog) -> None:
    (device,) = hypothetical_devices("24GB@1008GBps", catalog)
    assert (device.memory_total_bytes, device.bandwidth_gbps) == (24 * GIB, 1008.0)
    assert [d.bandwidth_gbps for d in hypothetical_devices("2x 24GB@100000", catalog)] == [100000.0] * 2


def test_long_input_is_cut_in_messages(catalog: Catalog) -> None:
    text = message("a" * 300, catalog)
    assert "a" * 80 not in text and "\u2026" in text and len(text) < 200


@pytest.mark.parametrize(("text", "tokens"), [("8192", 8192), ("8k", 8192), ("8K", 8192), ("128k", 131072),
                                              ("1M", 1048576), ("1m", 1048576), (" 4096 ", 4096), ("0", 0)])
def test_token_counts(text: str, tokens: int) -> None:
    assert parse_tokens(text) == tokens


@pytest.mark.parametrize("text", ["1e9", "1.5k", "8kb", "-8k", "k", "", "8 x", "9" * 5000])
def test_bad_token_counts(text: str) -> None:
    with pytest.raises(ValueError, match="not a token count"):
        parse_tokens(text)


def test_context_and_depth_take_suffixes(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "estimate", "llama-3.1-8b", "--gpu", "4090", "--ram", "64GB", "--quant", "Q4_K_M",
                    "--context", "16k", "--depth", "4k")
    (result,) = data["results"]
    assert (result["context_tokens"], result["depth_tokens"]) == (16384, 4096)


@pytest.mark.parametrize(("args", "expected"), [
    (["--vram", "24GB", "--bandwidth", "-5"], "--bandwidth must be a positive number of GB/s up to 100000, got -5"),
    (["--vram", "24GB", "--bandwidth", "1e308"], "--bandwidth must be a positive number of GB/s"),
    (["--vram", "lots", "--bandwidth", "100"], "--vram: cannot read 'lots'"),
    (["--gpu", "24GB@-5"], "bandwidth in '24GB@-5'"),
    (["--gpu", "16x4090+16x3090"], "at most 16 GPUs in all"),
])
def test_cli_messages_name_the_option(capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    code, _, err = run(capsys, "hardware", *args, "--ram", "64GB")
    assert code == 2 and expected in err and "unknown GPU" not in err and err.count("\n") == 1


def test_help_states_the_token_units(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "estimate", "--help")
    words = " ".join(out.split())
    assert code == 0 and "8k, 128k or 1M (k = 1024, M = 1048576)" in words


@pytest.mark.parametrize("spec", ["M4 Max 128GB + RTX 4090", "2x M4 Max", "RTX 4090+M3 Ultra"])
def test_an_apple_machine_takes_no_other_gpu(catalog: Catalog, spec: str) -> None:
    with pytest.raises(UsageError, match="Apple M-series machine has one GPU"):
        hypothetical_devices(spec, catalog)

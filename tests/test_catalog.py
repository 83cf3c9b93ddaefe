"""The shipped catalog loads and holds together; a bad file is one clear error naming file, entry, field."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from advisor.catalog.load import catalog_root, load_catalog
from advisor.errors import CatalogError, UnknownNameError
from advisor.specs.facts import Catalog, normalize

FOUNDATION_MODELS = ["qwen3.5-27b", "qwen3.5-35b-a3b", "qwen3.5-122b-a10b", "qwen3.5-397b-a17b",
                     "nemotron-3-super", "glm-4.7-flash", "gemma-3-27b", "gemma-3-27b-qat", "mistral-small-4",
                     "gpt-oss-20b", "gpt-oss-120b", "qwen3-30b-a3b", "llama-3.1-8b", "llama-3.3-70b"]
FOUNDATION_GPUS = ["rtx-3060-12gb", "rtx-3090", "rtx-4060", "rtx-4060-ti-16gb", "rtx-4070", "rtx-4080", "rtx-4090",
                   "rtx-5090", "h100-pcie", "h100-sxm", "m4-pro-20c", "m4-max-32c", "m4-max-40c"]


@pytest.mark.parametrize("model_id", FOUNDATION_MODELS)
def test_models_people_ask_about_are_there(catalog: Catalog, model_id: str) -> None:
    model = catalog.model(model_id)
    assert model.source.startswith("https://")


@pytest.mark.parametrize("gpu_id", FOUNDATION_GPUS)
def test_gpus_people_ask_about_are_there_with_numbers(catalog: Catalog, gpu_id: str) -> None:
    gpu = catalog.gpu(gpu_id)
    assert gpu.memory_bytes > 0 and gpu.bandwidth_gbps and gpu.source.startswith("https://")


@pytest.mark.parametrize(("typed", "expected"), [
    ("RTX 4090", "rtx-4090"), ("4090", "rtx-4090"), ("rtx_4090", "rtx-4090"), ("H100 SXM", "h100-sxm"),
])
def test_gpu_aliases(catalog: Catalog, typed: str, expected: str) -> None:
    assert catalog.gpu(typed).id == expected


def test_model_aliases_and_unknown_names(catalog: Catalog) -> None:
    assert catalog.model("Llama 3.1 8B").id == "llama-3.1-8b"
    with pytest.raises(UnknownNameError) as err:
        catalog.model("qwen3.5-35b")
    assert any("Qwen3.5-35B-A3B" in s for s in err.value.suggestions)


def test_ids_are_unique_and_every_entry_is_sourced(catalog: Catalog) -> None:
    ids = [m.id for m in catalog.models] + [g.id for g in catalog.gpus]
    assert len(ids) == len(set(ids))
    for entry in (*catalog.models, *catalog.gpus):
        assert entry.source.startswith(("https://", "http://")), entry.id


def test_parameter_counts_from_the_config_match_the_published_totals(catalog: Catalog) -> None:
    """Recomputed from the dims, total and (MoE) active parameters land within 2 % of the published figures.

    Entries published only as a rounded name ("7B") carry no total and are derived from the dims instead.
    """
    from advisor.models.params import count_params

    checked = 0
    for model in catalog.models:
        if model.params_derived:
            continue
        total, active = count_params(model)
        assert total == pytest.approx(model.params_total, rel=0.02), model.id
        if model.params_active and model.moe is not None:
            # published active counts leave out the embeddings (sometimes the head) and are often one digit ("A3B")
            lower = active - (model.arch.vocab_size * model.arch.hidden_size) * (1 if model.arch.tied_embeddings else 2)
            assert lower * 0.9 <= model.params_active <= active * 1.1, model.id
        checked += 1
    assert checked >= 40


def write(folder: Path, name: str, text: str) -> Path:
    (folder / "models").mkdir(parents=True, exist_ok=True)
    path = folder / "models" / name
    path.write_text(text)
    return folder


GOOD = (catalog_root() / "models").glob("*.yaml")


@pytest.mark.parametrize(("text", "words"), [
    ("models:\n  - id: x\n    name: X\n", "x › family: missing"),
    ("models: [{id: Bad Id}]\n", "ids use lowercase"),
    ("models:\n  - {id: x, name: X, family: f, colour: red}\n", "colour: unknown key"),
    ("models: [\n", "not valid YAML"),
    ("gpus: []\n", "gpus: unknown key"),
])
def test_a_malformed_user_file_names_file_entry_and_field(tmp_path: Path, text: str, words: str) -> None:
    folder = write(tmp_path, "mine.yaml", text)
    with pytest.raises(CatalogError) as err:
        load_catalog(extra_dirs=(folder,))
    assert words in err.value.message
    assert "mine.yaml" in err.value.message
    assert load_catalog().models  # the shipped catalog still loads


def test_a_wrong_type_is_named(tmp_path: Path) -> None:
    text = (catalog_root() / "models" / "qwen.yaml").read_text().replace("layers: 48", "layers: forty-eight", 1)
    folder = write(tmp_path, "qwen.yaml", text)
    with pytest.raises(CatalogError) as err:
        load_catalog(extra_dirs=(folder,))
    assert "arch › layers: expected int" in err.value.message


def test_normalize_folds_spaces_and_dashes() -> None:
    assert normalize(" RTX_4090 ") == normalize("rtx-4090") == "rtx-4090"


def test_built_wheel_ships_the_yaml(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(repo)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("advisor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.removeprefix("advisor/_catalog/") for n in names if n.startswith("advisor/_catalog/")}
    in_repo = {str(p.relative_to(repo / "catalog")) for p in (repo / "catalog").rglob("*.yaml")}
    assert in_repo and shipped == in_repo


def test_gpu_bandwidth_matches_bus_width_times_data_rate(catalog: Catalog) -> None:
    checked = 0
    for gpu in catalog.gpus:
        if gpu.bus_width_bits and gpu.memory_data_rate_gbps and gpu.bandwidth_gbps:
            derived = gpu.bus_width_bits / 8 * gpu.memory_data_rate_gbps
            assert gpu.bandwidth_gbps == pytest.approx(derived, rel=0.02), gpu.id
            checked += 1
    assert checked >= 60


def test_catalog_is_large_enough_to_be_useful(catalog: Catalog) -> None:
    assert len(catalog.gpus) >= 120
    vendors = {g.vendor for g in catalog.gpus}
    assert {"nvidia", "amd", "intel", "apple"} <= vendors


def test_user_catalog_folder_adds_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from advisor.catalog.load import user_catalog_dirs

    shipped = yaml.safe_load((catalog_root() / "models" / "google-meta-ms-ibm.yaml").read_text())["models"]
    entry = {k: v for k, v in next(m for m in shipped if m["id"] == "llama-3.1-8b").items()
             if k not in ("aliases", "gguf_files")}
    entry["id"], entry["name"] = "my-llama-finetune", "My Llama fine-tune"
    write(tmp_path / "config" / "catalog", "mine.yaml", yaml.safe_dump({"models": [entry]}))
    monkeypatch.setenv("ADVISOR_CONFIG_DIR", str(tmp_path / "config"))
    catalog = load_catalog(extra_dirs=user_catalog_dirs())
    assert catalog.model("my-llama-finetune").arch.layers == 32


@pytest.mark.parametrize(("name", "gbps"), [("ddr5-6000-2ch", 96.0), ("ddr4-3200", 51.2), ("ddr5-4800-12ch", 460.8),
                                            ("lpddr5x-8000-256", 256.0)])
def test_system_memory_bandwidth_is_derived_from_rate_and_bus(catalog: Catalog, name: str, gbps: float) -> None:
    assert catalog.memory(name).bandwidth_gbps == pytest.approx(gbps)


def test_a_duplicate_alias_is_rejected(tmp_path: Path) -> None:
    import yaml

    shipped = yaml.safe_load((catalog_root() / "gpus" / "nvidia.yaml").read_text())["gpus"]
    original = next(g for g in shipped if g["id"] == "rtx-4090")
    clone = {**original, "id": "my-4090", "name": "My 4090", "aliases": ["4090"]}
    (tmp_path / "gpus").mkdir()
    (tmp_path / "gpus" / "mine.yaml").write_text(yaml.safe_dump({"gpus": [clone]}))
    with pytest.raises(CatalogError) as err:
        load_catalog(extra_dirs=(tmp_path,))
    assert "'4090'" in err.value.message and "rtx-4090" in err.value.message
    assert "gpus/mine.yaml" in err.value.message and "gpus/nvidia.yaml" in err.value.message  # both files named


def test_the_data_cache_gives_the_same_catalog_and_survives_corruption(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path))
    fresh = load_catalog()
    (cached_file,) = tmp_path.glob("catalog-*.json")
    assert load_catalog() == fresh  # from the cache
    cached_file.write_text("{not json")
    assert load_catalog() == fresh  # a broken cache is ignored and rewritten

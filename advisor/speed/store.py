"""The user's calibration store (`advisor calibrate`): per-device factors in <config dir>/calibration.yaml.

Its own object, apart from the catalog's facts: estimates apply it through advisor.estimate.constants.SpeedTable.
"""

from __future__ import annotations

from pathlib import Path

from advisor.catalog.fields import Fields
from advisor.errors import CatalogError
from advisor.paths import config_dir
from advisor.specs.measured import LocalCalibration


def calibration_path() -> Path:
    return config_dir() / "calibration.yaml"


def load_local_calibration(path: Path | None = None) -> dict[str, LocalCalibration]:
    """The user's own calibration factors per device (advisor calibrate), if any."""
    from advisor.catalog.files import read_yaml

    path = path or calibration_path()
    if not path.is_file():
        return {}
    f = Fields(read_yaml(path) or {}, str(path))
    out = {}
    for device in list(f.data):
        item = f.mapping(device, required=True)
        assert item is not None
        out[device] = LocalCalibration(device, item.number("decode_factor", required=False, minimum=0.01),
                                       item.number("prefill_factor", required=False, minimum=0.01),
                                       item.req_int("rows"), item.req_text("source"))
        item.text("date", required=False)
        item.done()
    return out


def save_local_calibration(entry: LocalCalibration, date: str, path: Path | None = None) -> Path:
    import yaml

    path = path or calibration_path()
    current = {k: {"decode_factor": v.decode_factor, "prefill_factor": v.prefill_factor, "rows": v.rows,
                   "source": v.source} for k, v in load_local_calibration(path).items()}
    current[entry.device] = {"decode_factor": entry.decode_factor, "prefill_factor": entry.prefill_factor,
                             "rows": entry.rows, "source": entry.source, "date": date}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Written by `advisor calibrate`: your own llama-bench results, as factors on estimates.\n"
                        + yaml.safe_dump(current, sort_keys=True), encoding="utf-8")
    except OSError as err:
        msg = f"cannot write {path} ({err.strerror or err})"
        raise CatalogError(msg) from err
    return path

"""The ranges shown beside every estimate, from the held-out errors, and whether they hold. Pure.

A range is a band of the leave-one-device-out signed errors (predicted / measured - 1) of the device's decode
constants' key (prefill: its backend); where that key's errors come from too few devices (constants.own_band), of
its backend's keys' (a driver and a build err alike across a backend's devices), else of every key's. It leaves out
a `tail` of the errors on each side: split-conformal order statistics, the floor(tail (n + 1))-th to the ceil((1 -
tail)(n + 1))-th smallest of n, which would hold 1 - 2 x tail of new errors if each were like any other. They are
not: a device's runs err together (a driver, a memory clock, a build), so a 10th-90th band of rows holds fewer than
80 % of an unmeasured device's runs. The tail is therefore calibrated, per kind, on the held-out devices themselves:
the widest tail in TAILS (the narrowest band) under which COVERAGE of the held-out runs fall inside the range they
would have been shown, corrected for the number of devices it is calibrated on (split conformal's (m + 1) / m, the
device being the unit). How often the ranges hold is reported nested (`coverage`): each device's runs are checked at
the tail calibrated without that device.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from advisor.estimate.constants import MIN_BAND_ROWS, own_band
from advisor.specs.measured import ErrorBand

if TYPE_CHECKING:
    from advisor.speed.validate import Prediction

COVERAGE = 0.8  # the share of held-out runs a range is to hold (issue 14)
# the tails tried, from the 10th-90th percentile band outwards in steps of half a percentile point to the 5th-95th
TAILS = tuple(round(0.1 - 0.005 * i, 3) for i in range(11))

Errors = tuple[float, ...]  # sorted signed errors


def band_key(p: Prediction, kind: str) -> str:
    """The key of the band the shipped lookup shows beside a prediction (SpeedTable.constants)."""
    return p.case.key if kind == "decode" else p.case.backend


def key_backend(key: str) -> str:
    """The backend a band key belongs to: a decode key's backend (cuda:ampere -> cuda), a prefill key itself."""
    return key.split(":", 1)[0]


def _bounds(errors: Errors, tail: float) -> tuple[float, float]:
    n = len(errors)
    low, high = max(1, math.floor(tail * (n + 1))), min(n, math.ceil((1 - tail) * (n + 1)))
    return round(errors[low - 1], 4), round(errors[high - 1], 4)


def band(predictions: Iterable[Prediction], tail: float = TAILS[0]) -> ErrorBand:
    """The band of these predictions' signed errors that leaves out `tail` of them on each side."""
    ps = list(predictions)
    low, high = _bounds(tuple(sorted(p.error for p in ps)), tail)
    return ErrorBand(low, high, len(ps), len({p.case.group for p in ps}), tail)


def _inside(errors: Errors, error: float, tail: float) -> bool:
    low, high = _bounds(errors, tail)
    return low <= round(error, 4) <= high


class _Errors:
    """One kind's held-out errors, by device and by band key, for the bands held out of one or two devices."""

    def __init__(self, predictions: list[Prediction], kind: str) -> None:
        self.rows = [(p, p.case.group, band_key(p, kind)) for p in predictions]
        self.devices = sorted({group for _, group, _ in self.rows})

    def shown(self, without: frozenset[str] = frozenset(),
              only: str | None = None) -> Iterator[tuple[Prediction, Errors]]:
        """Each prediction not of the devices `without` (only of device `only` where given), with the errors of
        the band it would have been shown had neither its device nor those been measured (its key's where they
        pass own_band, else every key's)."""
        cache: dict[tuple[str, str], Errors] = {}
        for p, group, key in self.rows:
            if group in without or only not in (None, group):
                continue
            if (group, key) not in cache:
                cache[group, key] = self._pool(without | {group}, key)
            yield p, cache[group, key]

    def _pool(self, out: frozenset[str], key: str) -> Errors:
        """The errors of the devices not `out` under the shipped lookup's rule: the key's own where they pass
        own_band, else its backend's keys' where those do, else every key's."""
        for same in (lambda k: k == key, lambda k: key_backend(k) == key_backend(key)):
            own = [(p.error, g) for p, g, k in self.rows if same(k) and g not in out]
            if own_band(ErrorBand(0.0, 0.0, len(own), len({g for _, g in own}))):
                return tuple(sorted(e for e, _ in own))
        return tuple(sorted(p.error for p, g, _ in self.rows if g not in out))

    def tail(self, without: frozenset[str] = frozenset()) -> float:
        """The widest tail under which COVERAGE x (m + 1) / m of the held-out runs of the m devices not `without`
        fall in their band: the split-conformal finite-sample correction, with the device as the unit that is
        like any other (a band that just holds COVERAGE of m devices' runs holds less of a new device's)."""
        shown = [(p.error, errors) for p, errors in self.shown(without)]
        m = max(1, len(set(self.devices) - without))
        for tail in TAILS:
            if sum(_inside(errors, e, tail) for e, errors in shown) >= COVERAGE * (m + 1) / m * len(shown):
                return tail
        return TAILS[-1]


def calibrated_tail(predictions: list[Prediction], kind: str) -> float:
    """The tail the shipped bands of this kind leave out on each side, calibrated on every device."""
    return _Errors(predictions, kind).tail()


def coverage(predictions: list[Prediction], kind: str) -> dict[str, tuple[int, int]]:
    """Per backend and in all: how many held-out runs fall inside the range their device would have been shown had
    it never been measured (the band of the other devices' held-out errors, as the shipped lookup picks it, at the
    tail calibrated on the other devices alone), of how many."""
    errors = _Errors(predictions, kind)
    out: dict[str, tuple[int, int]] = {}
    for device in errors.devices:
        tail = errors.tail(frozenset({device}))
        for p, shown in errors.shown(only=device):
            inside = _inside(shown, p.error, tail)
            for label in ("all", p.case.m.backend):
                hit, n = out.get(label, (0, 0))
                out[label] = (hit + inside, n + 1)
    return out


def uncalibrated_coverage(predictions: list[Prediction], kind: str) -> tuple[int, int]:
    """How many held-out runs fall inside a 10th-90th percentile band (TAILS[0]) of the other devices' errors."""
    shown = list(_Errors(predictions, kind).shown())
    return sum(_inside(errors, p.error, TAILS[0]) for p, errors in shown), len(shown)


def band_calibration(predictions: list[Prediction], kind: str) -> dict[int, tuple[int, int]]:
    """How often a held-out run falls inside a band of its own key's other devices' held-out errors (where they
    give MIN_BAND_ROWS), at the shipped tail, by how many devices that band rests on (4: four or more), whatever the
    shipped threshold: what MIN_BAND_DEVICES is set by."""
    errors = _Errors(predictions, kind)
    tail = errors.tail()
    out: dict[int, tuple[int, int]] = {}
    for p, group, key in errors.rows:
        own = [(q.error, g) for q, g, k in errors.rows if g != group and k == key]
        if len(own) < MIN_BAND_ROWS:
            continue
        devices = min(4, len({g for _, g in own}))
        hit, n = out.get(devices, (0, 0))
        out[devices] = (hit + _inside(tuple(sorted(e for e, _ in own)), p.error, tail), n + 1)
    return dict(sorted(out.items()))

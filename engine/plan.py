"""Planning a run: the points of the sweep, each with its own seed."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import Config


@dataclass(frozen=True)
class Point:
    """One point of the sweep: its index, its variable values and its derived seed."""

    index: int
    values: dict[str, Any]
    seed: int


def point_seed(seed: int, index: int) -> int:
    """Point ``index``'s seed: derived from the config's seed, the same for the same config."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def plan(config: Config) -> list[Point]:
    """The grid product of the sweep times the rows of the zip, each point with its own seed.

    Without a sweep or zip there is one empty point. A point's seed is derived from the config's
    seed and the point's index, so the same config and seed give the same seeds.
    """
    names = list(config.sweep)
    rows = [dict(zip(config.zip, row)) for row in zip(*config.zip.values())] or [{}]
    combos = itertools.product(itertools.product(*(config.sweep[n] for n in names)), rows)
    return [Point(index, {**dict(zip(names, combo)), **row}, point_seed(config.seed, index))
            for index, (combo, row) in enumerate(combos)]

"""Built-in plugin: network architecture arithmetic (receptive fields)."""
from __future__ import annotations

import numpy as np

from shouxie import core

from .hookspecs import hookimpl


def receptive_field(layers) -> dict:
    """Receptive field, jump and start of every layer of a conv / pooling stack."""
    fields = core.receptive_field(layers)
    return {
        "receptive_field": np.array([f.receptive_field for f in fields], dtype=np.int64),
        "jump": np.array([f.jump for f in fields], dtype=np.int64),
        "start": np.array([f.start for f in fields], dtype=np.float64),
        "final_receptive_field": fields[-1].receptive_field if fields else 1,
    }


@hookimpl
def shouxie_register_ops(registry):
    registry.add("arch.receptive_field", receptive_field)

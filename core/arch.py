"""Network architecture arithmetic: the theoretical receptive field of a conv / pooling stack.

Along one spatial axis, a layer with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d``
has effective kernel ``k_eff = d (k - 1) + 1``; with ``r``, ``j`` and ``c`` the receptive field,
jump (distance in input pixels between neighbouring units) and first-unit centre of its input,

    r' = r + (k_eff - 1) j,    j' = j s,    c' = c + ((k_eff - 1) / 2 - p) j.

Coordinates are input pixel indices (pixel ``i`` is centred at ``i``), so ``start`` may be
negative (the first unit is centred in the padding) or a half-integer (even kernels). Pooling
layers are the same arithmetic (max and average pooling differ only in their weights); the
output-size rounding mode (floor or ceil) does not move any unit, so it plays no part.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from ._validation import integer, sequence

_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1}
_LOWER_BOUNDS = {"kernel": 1, "stride": 1, "padding": 0, "dilation": 1}
_LABEL_KEYS = ("name", "type")  # informational, ignored


class LayerField(NamedTuple):
    """Receptive-field geometry of the units after one layer, in input pixels."""

    receptive_field: int  #: side of the input region one unit sees
    jump: int             #: distance between neighbouring units
    start: float          #: centre of the first unit's receptive field


def _layer(layer, index: int) -> dict[str, int]:
    if not isinstance(layer, Mapping):
        raise TypeError(f"layers[{index}] must be a mapping with a 'kernel' key, got {type(layer).__name__}")
    unknown = set(layer) - set(_LOWER_BOUNDS) - set(_LABEL_KEYS)
    if unknown:
        raise ValueError(f"layers[{index}] has unknown keys {sorted(map(str, unknown))}; "
                         f"expected {', '.join(_LOWER_BOUNDS)} (and optional {', '.join(_LABEL_KEYS)})")
    if "kernel" not in layer:
        raise ValueError(f"layers[{index}] has no 'kernel'")
    return {key: integer(layer.get(key, _DEFAULTS.get(key)), f"layers[{index}].{key}", low=low)
            for key, low in _LOWER_BOUNDS.items()}


def receptive_field(layers: Iterable[Mapping[str, object]]) -> list[LayerField]:
    """Receptive field, jump and start of every layer of a conv / pooling stack.

    Parameters
    ----------
    layers : sequence of mapping
        In input-to-output order, each ``{"kernel": k, "stride": s, "padding": p,
        "dilation": d}`` (stride 1, padding 0, dilation 1 by default; optional ``name`` and
        ``type`` keys are ignored). Non-square layers: call once per axis.

    Returns
    -------
    list of LayerField, length len(layers)
        ``(receptive_field, jump, start)`` after each layer. Empty for no layers.

    Examples
    --------
    >>> receptive_field([{"kernel": 3, "padding": 1}, {"kernel": 2, "stride": 2}])[-1]
    LayerField(receptive_field=4, jump=2, start=0.5)
    """
    rf, jump, start, out = 1, 1, 0.0, []
    for index, layer in enumerate(sequence(layers, "layers")):
        spec = _layer(layer, index)
        span = spec["dilation"] * (spec["kernel"] - 1)
        start += (span / 2 - spec["padding"]) * jump
        rf += span * jump
        jump *= spec["stride"]
        out.append(LayerField(rf, jump, start))
    return out

"""The agreement check of a ``compare`` step: every output of the baseline against another op's."""
from __future__ import annotations

from typing import Any

import numpy as np


def _named(result: Any) -> dict[Any, Any]:
    """An op's outputs by name: its dict, or ``{"value": result}``."""
    return result if isinstance(result, dict) else {"value": result}


def difference(expected: Any, got: Any, *, rtol: float, atol: float) -> dict[str, Any]:
    """How ``got`` differs from ``expected``: exact for integers, ``rtol``/``atol`` for floats.

    Returns ``ok`` and, for numbers, the largest absolute difference, where it is, the two values
    there and how many elements disagree.
    """
    try:
        a, b = np.asarray(expected), np.asarray(got)
    except ValueError:  # ragged sequences: element by element
        if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)) \
                and len(expected) == len(got):
            return agreement(dict(enumerate(expected)), dict(enumerate(got)), rtol=rtol, atol=atol)
        return _equality(expected, got)
    if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        return _equality(expected, got)
    if a.shape != b.shape:
        return {"ok": False, "detail": f"shape {list(b.shape)} != baseline shape {list(a.shape)}"}
    if a.size == 0:
        return {"ok": True, "max_abs_diff": 0.0, "mismatched": 0}
    exact = a.dtype.kind in "biu" and b.dtype.kind in "biu"
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(b64 - a64)
        bad = (a64 != b64) if exact else ~np.isclose(b64, a64, rtol=rtol, atol=atol, equal_nan=True)
    same_values = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
    diff = np.where(same_values, 0.0, np.nan_to_num(diff, nan=np.inf))
    where = np.unravel_index(int(np.argmax(np.where(bad, diff, -1.0) if bad.any() else diff)), a.shape)
    out: dict[str, Any] = {"ok": not bad.any(), "max_abs_diff": float(diff.max()),
                           "mismatched": int(bad.sum()),
                           "compared": "exact" if exact else f"rtol={rtol:g}, atol={atol:g}"}
    if bad.any():
        out.update(index=[int(i) for i in where], baseline=a[where].item(), got=b[where].item())
    return out


def _equality(expected: Any, got: Any) -> dict[str, Any]:
    """Non-numeric outputs: equal or not."""
    same = _equal(expected, got)
    return {"ok": same, "detail": None if same else f"{got!r:.80} != {expected!r:.80}"}


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b)) if type(a) is type(b) else False
    except Exception:  # incomparable values never pass silently
        return False


def agreement(baseline: Any, other: Any, *, rtol: float, atol: float) -> dict[str, Any]:
    """Check every output of the baseline against ``other``; report the worst key."""
    expected, got = _named(baseline), _named(other)
    worst: dict[str, Any] = {"ok": True, "key": None, "max_abs_diff": 0.0}
    for key, value in expected.items():
        if key not in got:
            return {"ok": False, "key": key, "detail": f"output {key!r} missing (it has: {', '.join(got)})"}
        diff = difference(value, got[key], rtol=rtol, atol=atol)
        diff["key"] = key if diff.get("key") is None else f"{key}[{diff['key']}]"
        if _rank(diff) > _rank(worst):
            worst = diff
    return worst


def _rank(diff: dict[str, Any]) -> tuple[bool, float]:
    """Failures first, then the largest difference; a failure without a number ranks highest."""
    return not diff["ok"], diff.get("max_abs_diff", float("inf") if not diff["ok"] else -1.0)


def mismatch_message(check: dict[str, Any], baseline: str) -> str:
    """A failed :func:`agreement` in one line, for the record's ``error``."""
    if check.get("detail"):
        return f"output {check['key']!r} differs from {baseline}: {check['detail']}"
    return (f"output {check['key']!r} differs from {baseline}: {check['mismatched']} element(s) "
            f"({check['compared']}), largest |difference| {check['max_abs_diff']:.3g} at "
            f"{check['index']} ({check['got']!r} vs {check['baseline']!r})")

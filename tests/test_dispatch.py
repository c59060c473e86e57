"""Runtime CPU dispatch: cpu_info(), SHOUXIE_CPU forcing and refusal, variants equal."""
import importlib
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from shouxie.core import _cpu, _dispatch, _variants, cpu_info

X86 = platform.machine() in ("x86_64", "AMD64", "amd64")


def _proc_flags():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def _runnable(levels_needs, features):
    return [lv for lv, needs in levels_needs.items() if set(needs) <= features]


def test_cpu_info_contents():
    info = cpu_info()
    assert info["machine"] == platform.machine()
    assert set(info["features"]) <= set(_cpu.FEATURES)
    assert info["levels"] == list(_variants.LEVELS)
    assert info["level"] in info["levels"]
    assert set(info["families"]) == set(_variants.VARIANTS)
    assert "_median_network" in info["families"]
    features = set(info["features"])
    for family, f in info["families"].items():
        assert f["built"] == list(_variants.VARIANTS[family])
        assert f["variant"] in f["built"] and f["reason"]
        # the public module is the chosen variant
        module = importlib.import_module(f"shouxie.core.{family}")
        assert module.__spec__.name == f"shouxie.core.{family}_{f['variant']}"
        if info["forced"] is None and not info["native_build"]:
            # the best level built that the CPU runs, with the family's own extra needs
            best = [lv for lv in _runnable(_variants.LEVELS, features)
                    if lv in f["built"] and set(_variants.VARIANTS[family][lv]) <= features]
            assert f["variant"] == best[-1]
    json.dumps(info)   # recorded in env.json
    assert cpu_info() is not cpu_info() and cpu_info() == info   # a copy


@pytest.mark.skipif(not X86 or _proc_flags() is None, reason="needs /proc/cpuinfo on x86")
def test_features_agree_with_proc_cpuinfo():
    flags = _proc_flags()
    features = set(cpu_info()["features"])
    for name in ("avx2", "fma", "avx512f", "avx512bw", "avx512vbmi"):
        assert (name in features) == (name in flags), name
    assert ("x86-64-v3" in features) == ({"avx2", "fma", "bmi2", "movbe"} <= flags)
    assert ("x86-64-v4" in features) == ({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= flags)


def test_refuses_levels_the_cpu_lacks_or_the_build_has_not():
    weak = frozenset({"x86-64-v2"})
    levels = list(_variants.LEVELS)
    if _variants.NATIVE:
        with pytest.raises(ImportError, match="SHOUXIE_NATIVE=ON build"):
            _dispatch._ceiling(weak, "baseline")
        return
    if "avx512" in levels:
        with pytest.raises(ImportError, match=r"SHOUXIE_CPU=avx512: this CPU lacks x86-64-v4"):
            _dispatch._ceiling(weak, "avx512")
        assert _dispatch._ceiling(weak, None) == "baseline"
        assert _dispatch._ceiling(weak | {"x86-64-v3", "x86-64-v4"}, "avx2") == "avx2"
    with pytest.raises(ImportError, match=r"SHOUXIE_CPU='sse9': this build of shouxie has the CPU levels"):
        _dispatch._ceiling(weak, "sse9")
    if X86:
        with pytest.raises(ImportError, match="needs a CPU with x86-64-v2"):
            _dispatch._ceiling(frozenset(), None)


@pytest.mark.skipif("avx512vbmi" not in _variants.VARIANTS.get("_resize", {}).get("avx512", ()),
                    reason="no avx512 resize variant needing VBMI in this build")
def test_family_needs_fall_back_a_level():
    v4 = frozenset({"x86-64-v2", "x86-64-v3", "x86-64-v4"})   # AVX-512 without VBMI (Skylake-X)
    variant, reason = _dispatch._choose("_resize", "avx512", v4)
    assert variant in ("avx2", "baseline") and "avx512 needs avx512vbmi" in reason
    assert _dispatch._choose("_median_network", "avx512", v4)[0] == "avx512"


_PROBE = """
import json, sys
import numpy as np
from shouxie.core import cpu_info, knn_search, median_filter, resize_bilinear
rng = np.random.default_rng(0)
img = rng.integers(0, 256, (37, 101, 3), dtype=np.uint8)
f64 = rng.standard_normal((29, 70))
pts = rng.standard_normal((300, 7))
out = {"info": cpu_info(),
       "median": [median_filter(img, k).tolist() for k in (3, 9, 15)] + [median_filter(f64, 11).tolist()],
       "resize": [resize_bilinear(img, (23, 61)).tolist(), resize_bilinear(img, (18, 50)).tolist()],
       "knn": [a.tolist() for a in knn_search(pts[:40], pts, 5)]}
json.dump(out, sys.stdout)
"""


def _probe(level):
    env = {**os.environ, _dispatch.ENV: level} if level else {
        k: v for k, v in os.environ.items() if k != _dispatch.ENV}
    return subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                          timeout=300)


def test_forced_levels_choose_lower_variants_with_equal_results():
    features = set(cpu_info()["features"])
    if _variants.NATIVE:
        pytest.skip("one native variant")
    runs = {}
    for level in [None] + _runnable(_variants.LEVELS, features):
        proc = _probe(level)
        assert proc.returncode == 0, proc.stderr
        runs[level] = json.loads(proc.stdout)
    best = runs[None]
    for level, run in runs.items():
        if level is None:
            continue
        info = run["info"]
        assert info["forced"] == level and info["level"] == level
        order = list(_variants.LEVELS)
        for family, f in info["families"].items():
            assert order.index(f["variant"]) <= order.index(level)
        assert info["families"]["_median_network"]["variant"] == level
        assert run["median"] == best["median"] and run["resize"] == best["resize"], level
        # kNN: the same neighbours; distances to rounding (with FMA, |q|^2 - 2 q.x + |x|^2 rounds
        # differently, and a point's distance to itself is that sum's cancellation)
        assert run["knn"][1] == best["knn"][1], level
        np.testing.assert_allclose(run["knn"][0], best["knn"][0], rtol=1e-12, atol=1e-6)


@pytest.mark.skipif(_variants.NATIVE, reason="one native variant")
def test_forcing_an_unknown_level_is_refused_with_a_message():
    proc = _probe("sse9")
    assert proc.returncode != 0
    assert "SHOUXIE_CPU='sse9'" in proc.stderr and "Illegal instruction" not in proc.stderr

"""Generate the min/max networks of the median filter for windows of 5 x 5 and up.

``python tools/median_networks.py OUT.h K [K ...]`` writes, for every window side K, the struct
``shx_network<K>`` of C++ function templates over a value type ``V`` (a scalar or a GCC vector)
of keys ``T``:

* ``sort_shared(src, j, dst)`` and ``sort_own`` sort the keys of the N = K - 1 or K values
  ``src[i][j]`` (i < N) into ``dst[0 .. N)``: Batcher's odd-even merge sort;
* ``shared(cols, stride, step, out)`` gives ranks m - K .. m (m = K * K // 2) of the
  K x (K - 1) values ``cols[r * stride + c * step]`` whose K columns c are each sorted along r:
  Batcher's odd-even merges of the columns, with every comparator pruned that touches padding
  or does not lead to those ranks.

The build runs this script once per window side (CMakeLists.txt); each output is compiled with
``core/_median_wide_kernel.h`` into that side's own translation unit.
Correctness of the pruning follows from that of the sorting network it came from; the tests
check the filters against scipy and a plain definition.
"""
from __future__ import annotations

import sys

PAD = None   # a padding wire: larger than every value


def _merge(lo: int, n: int, r: int, comparators: list) -> None:
    """Batcher's odd-even merge of wires lo .. lo + n - 1 (n a power of 2) at distance r."""
    step = 2 * r
    if step < n:
        _merge(lo, n, step, comparators)
        _merge(lo + r, n, step, comparators)
        comparators.extend((i, i + r) for i in range(lo + r, lo + n - r, step))
    else:
        comparators.append((lo, lo + r))


def _sort(lo: int, n: int, comparators: list) -> None:
    if n > 1:
        _sort(lo, n // 2, comparators)
        _sort(lo + n // 2, n // 2, comparators)
        _merge(lo, n, 1, comparators)


def _pow2(k: int) -> int:
    return 1 << (k - 1).bit_length()


def sort_network(k: int) -> list[tuple[int, int]]:
    """Comparators (a, b), a < b, sorting k wires: Batcher's network on the next power of 2
    with the padding wires (at the end, larger than every value) removed."""
    comparators: list = []
    _sort(0, _pow2(k), comparators)
    return [(a, b) for a, b in comparators if b < k]


def shared_network(k: int) -> tuple[list[tuple[str, object, object]], list]:
    """The operations giving ranks m - k .. m (m = k * k // 2) of k sorted columns of k - 1.

    Those are the only ranks of the k - 1 rows two vertically adjacent k x k windows share
    that can be the median of either window once its own k-th row joins. Returns (ops,
    results): ``ops[i] = (kind, x, y)`` computes ``min`` or ``max`` of two operands, an operand
    being ``("in", column, rank)`` or ``("op", i)``; only the operations the results depend on
    are kept, each after its operands.
    """
    p, rows, m = _pow2(k), k - 1, k * k // 2
    wires = [("in", c, r) if c < k and r < rows else PAD for c in range(p) for r in range(p)]
    comparators: list = []
    size = p   # merge sorted runs of p wires (the columns) pairwise up to p * p
    while size < p * p:
        for lo in range(0, p * p, 2 * size):
            _merge(lo, 2 * size, 1, comparators)
        size *= 2
    ops: list = []
    for a, b in comparators:
        x, y = wires[a], wires[b]
        if y is PAD:            # min(x, pad) = x, max = pad
            continue
        if x is PAD:
            wires[a], wires[b] = y, PAD
            continue
        wires[a], wires[b] = ("op", len(ops)), ("op", len(ops) + 1)
        ops += [("min", x, y), ("max", x, y)]
    results = wires[m - k:m + 1]
    needed, stack = set(), list(results)
    while stack:
        operand = stack.pop()
        if operand[0] == "op" and operand[1] not in needed:
            needed.add(operand[1])
            stack += ops[operand[1]][1:]
    kept = sorted(needed)
    renumber = {old: new for new, old in enumerate(kept)}

    def renamed(operand):
        return ("op", renumber[operand[1]]) if operand[0] == "op" else operand

    return ([(ops[i][0], renamed(ops[i][1]), renamed(ops[i][2])) for i in kept],
            [renamed(r) for r in results])


def _name(operand) -> str:
    return f"c{operand[1]}r{operand[2]}" if operand[0] == "in" else f"t{operand[1]}"


def _sorter(name: str, n: int) -> list[str]:
    lines = ["  template <typename V, typename T>",
             f"  static inline void {name}(const T* const* src, ptrdiff_t j, V* dst) {{"]
    lines += [f"    V v{i} = shx_load_key<V>(src[{i}] + j);" for i in range(n)]
    lines += [f"    {{ const V t = shx_lo(v{a}, v{b}); v{b} = shx_hi(v{a}, v{b}); v{a} = t; }}"
              for a, b in sort_network(n)]
    lines += [f"    dst[{i}] = v{i};" for i in range(n)]
    return lines + ["  }"]


def emit(k: int) -> str:
    """``shx_network<k>``: ``sort_shared`` (k - 1 values), ``sort_own`` (k) and ``shared``."""
    ops, results = shared_network(k)
    inputs = sorted({operand for _, *operands in ops for operand in operands if operand[0] == "in"})
    lines = [f"template <> struct shx_network<{k}> {{"]
    lines += _sorter("sort_shared", k - 1) + _sorter("sort_own", k)
    lines += ["  template <typename V, typename T>",
              "  static inline void shared(const T* cols, ptrdiff_t stride, ptrdiff_t step, V* out) {"]
    lines += [f"    const V {_name(o)} = shx_load<V>(cols + {o[2]} * stride + {o[1]} * step);"
              for o in inputs]
    lines += [f"    const V t{i} = shx_{'lo' if kind == 'min' else 'hi'}({_name(x)}, {_name(y)});"
              for i, (kind, x, y) in enumerate(ops)]
    lines += [f"    out[{i}] = {_name(r)};" for i, r in enumerate(results)]
    return "\n".join(lines + ["  }", "};", ""])


def main(argv: list[str]) -> None:
    path, sides = argv[0], [int(k) for k in argv[1:]]
    header = ["// Generated by tools/median_networks.py: do not edit.", "#pragma once", ""]
    header += [emit(k) for k in sides]
    with open(path, "w") as f:
        f.write("\n".join(header))


if __name__ == "__main__":
    main(sys.argv[1:])

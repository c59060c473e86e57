"""Built-in plugin: the coding family (Huffman) — ops, data, references and ``shouxie huffman``."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from shouxie import core
from shouxie.core import huffman

from ._optional import require
from .hookspecs import hookimpl

#: A few KB of English prose shipped with the package, for the quickstart.
SAMPLE_TEXT = Path(__file__).with_name("data") / "sample.txt"
#: The command line shows a progress bar for inputs at least this large (on a terminal).
PROGRESS_MIN_BYTES = 4 << 20


# --------------------------------------------------------------------------- data
def zipf_bytes(n: int = 8 << 20, a: float = 1.3, seed: int = 0) -> np.ndarray:
    """Bytes drawn from a Zipf(a) law: value k - 1 with probability ~ k**-a, saturating at 255.

    Parameters
    ----------
    n : int
        Number of bytes.
    a : float
        Zipf exponent, > 1; larger is more skewed.
    seed : int
        Seed of the numpy Generator.
    """
    draws = np.random.default_rng(seed).zipf(a, size=n)
    return (np.minimum(draws, 256) - 1).astype(np.uint8)


def file_bytes(path: str | None = None) -> np.ndarray:
    """The bytes of a file as a uint8 array; by default the sample text shipped with shouxie."""
    return np.fromfile(SAMPLE_TEXT if path is None else path, dtype=np.uint8)


# --------------------------------------------------------------------------- ops
def _compression_metrics(data, blob: bytes) -> dict:
    """What both compressors report: the blob and how it compares with the entropy bound."""
    n = memoryview(data).nbytes
    entropy = core.entropy_bits(data)
    return {
        "blob": np.frombuffer(blob, dtype=np.uint8),
        "ratio": len(blob) / n if n else 0.0,           # compressed / original size
        "bits_per_symbol": 8 * len(blob) / n if n else 0.0,
        "entropy": entropy,                              # bits per symbol, the lower bound
        "entropy_ratio": entropy / 8,                    # the ratio a perfect symbol code reaches
    }


def huffman_compress(data) -> dict:
    """Huffman-compress bytes into shouxie's container; ratio, bits per symbol and entropy."""
    return _compression_metrics(data, core.compress(data))


def huffman_decompress(blob) -> np.ndarray:
    """Decompress a shouxie Huffman container back to the original bytes (uint8 array)."""
    return np.frombuffer(core.decompress(blob), dtype=np.uint8)


def entropy(data) -> dict:
    """Shannon entropy of the bytes (bits per symbol) and the compression ratio it allows."""
    bits = core.entropy_bits(data)
    return {"entropy": bits, "entropy_ratio": bits / 8}


def huffman_code(data, max_length: int = 15) -> dict:
    """The optimal length-limited canonical code of the data: code lengths and their cost."""
    symbols = huffman.as_symbols(data, "data")
    code = core.HuffmanCode.from_data(symbols, max_length=max_length)
    counts = np.bincount(symbols, minlength=code.alphabet_size)
    return {"lengths": code.lengths, "max_length": code.max_length,
            "total_bits": code.bit_length(counts)}


def huffman_encode(data, lengths) -> dict:
    """Pack the canonical codes (given by their lengths) of the data MSB-first."""
    payload, nbits = core.HuffmanCode(lengths).encode(data)
    return {"payload": np.frombuffer(payload, dtype=np.uint8), "nbits": nbits}


def huffman_decode(payload, nbits: int, count: int, lengths) -> np.ndarray:
    """Decode ``count`` symbols packed MSB-first with the canonical code of these lengths."""
    return core.HuffmanCode(lengths).decode(payload, int(nbits), int(count))


# --------------------------------------------------------------------------- references
def _zlib():
    return require("zlib", needed_by="the zlib reference", install="a Python built with zlib")


def _bitarray():
    require("bitarray.util", needed_by="the bitarray reference", install="pip install bitarray")
    return require("bitarray", needed_by="the bitarray reference", install="pip install bitarray")


def zlib_huffman_compress(data) -> dict:
    """zlib deflate with Z_HUFFMAN_ONLY at level 1 (Huffman codes, no LZ77 matches)."""
    zlib = _zlib()
    compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 8, zlib.Z_HUFFMAN_ONLY)
    return _compression_metrics(data, compressor.compress(data) + compressor.flush())


def zlib_huffman_decompress(blob) -> np.ndarray:
    """zlib inflate of a zlib stream (uint8 array)."""
    return np.frombuffer(_zlib().decompress(blob), dtype=np.uint8)


def bitarray_encode(data, lengths) -> dict:
    """bitarray's encode() with the canonical code of these lengths (big-endian bit order)."""
    bitarray = _bitarray()
    code = core.HuffmanCode(lengths)
    table = {int(s): bitarray.util.int2ba(int(code.codes[s]), length=int(code.lengths[s]))
             for s in np.flatnonzero(code.lengths)}
    bits = bitarray.bitarray(endian="big")
    bits.encode(table, bytes(memoryview(data)))
    return {"payload": np.frombuffer(bits.tobytes(), dtype=np.uint8), "nbits": len(bits)}


def bitarray_decode(payload, nbits: int, count: int, lengths) -> np.ndarray:
    """bitarray's canonical_decode() of ``count`` symbols coded with these lengths."""
    bitarray = _bitarray()
    lengths = np.asarray(lengths)
    order = np.lexsort((np.arange(lengths.size), lengths))
    order = order[lengths[order] > 0]
    counts = np.bincount(lengths[order], minlength=int(lengths.max()) + 1).tolist()
    bits = bitarray.bitarray(endian="big")
    bits.frombytes(bytes(payload))
    del bits[int(nbits):]
    decoded = bitarray.util.canonical_decode(bits, counts, order.tolist())
    return np.fromiter(decoded, dtype=np.uint8, count=int(count))


# --------------------------------------------------------------------------- command line
class _Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = total, label, 0
        self.start = self.drawn = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.drawn >= 0.1 or self.done >= self.total:
            self.drawn = now
            frac = min(self.done / self.total, 1.0) if self.total else 1.0
            rate = self.done / 2**20 / max(now - self.start, 1e-9)
            print(f"\r{self.label} [{'#' * int(30 * frac):<30}] {100 * frac:5.1f}% "
                  f"{self.done / 2**20:.1f}/{self.total / 2**20:.1f} MiB {rate:.0f} MiB/s",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        print(file=sys.stderr)


class _CountingReader:
    """A binary reader that reports how many bytes it has read."""

    def __init__(self, raw, progress: _Progress | None) -> None:
        self._raw, self._progress = raw, progress

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if self._progress is not None and data:
            self._progress.update(len(data))
        return data


@contextlib.contextmanager
def _input(path: str):
    if path == "-":
        yield sys.stdin.buffer, None
        return
    with open(path, "rb") as f:
        yield f, os.fstat(f.fileno()).st_size


@contextlib.contextmanager
def _atomic_output(path: str):
    """Write to a temporary file beside ``path``; rename it over ``path`` only on success."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _cmd_huffman(args) -> int:
    convert = huffman.compress_stream if args.action == "compress" else huffman.decompress_stream
    options = {"block_size": args.block_size} if args.action == "compress" else {}
    progress = None
    try:
        with _input(args.input) as (src, size), _atomic_output(args.output) as dst:
            if sys.stderr.isatty() and size is not None and size >= PROGRESS_MIN_BYTES:
                progress = _Progress(size, args.action)
            convert(_CountingReader(src, progress), dst, **options)
    except (OSError, ValueError) as exc:
        print(f"shouxie huffman {args.action}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if progress is not None:
            progress.close()
    return 0


@hookimpl
def shouxie_register_commands(subparsers):
    parser = subparsers.add_parser("huffman", help="Huffman-compress or decompress a file")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, summary in (("compress", "compress IN into OUT"),
                            ("decompress", "decompress IN into OUT")):
        sub = actions.add_parser(action, help=summary)
        sub.add_argument("input", metavar="IN", help="input file, or - for stdin")
        sub.add_argument("output", metavar="OUT",
                         help="output file (replaced only on success), or - for stdout")
        if action == "compress":
            sub.add_argument("--block-size", type=int, default=huffman.DEFAULT_BLOCK_SIZE,
                             help="bytes per independently coded block (default: 1 MiB)")
        sub.set_defaults(func=_cmd_huffman)


#: Every op of this plugin, by name.
OPS = {
    "data.zipf_bytes": zipf_bytes,
    "data.file_bytes": file_bytes,
    "coding.huffman_compress": huffman_compress,
    "coding.huffman_decompress": huffman_decompress,
    "coding.entropy": entropy,
    "coding.huffman_code": huffman_code,
    "coding.huffman_encode": huffman_encode,
    "coding.huffman_decode": huffman_decode,
    "ref.zlib_huffman_compress": zlib_huffman_compress,
    "ref.zlib_huffman_decompress": zlib_huffman_decompress,
    "ref.bitarray_encode": bitarray_encode,
    "ref.bitarray_decode": bitarray_decode,
}


@hookimpl
def shouxie_register_ops(registry):
    for name, func in OPS.items():
        registry.add(name, func)

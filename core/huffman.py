"""Huffman coding: canonical length-limited codes, bit-packing, and a block container format.

Codes are canonical (DEFLATE's assignment: shorter codes first, equal lengths in symbol order)
and packed MSB-first. :class:`HuffmanCode` builds, encodes and decodes one code;
:func:`compress` / :func:`decompress` wrap blocks of at most ``block_size`` bytes in a
self-describing container, and :func:`compress_stream` / :func:`decompress_stream` do the same
between files one block at a time. Blocks are independent, so they are coded on a few threads.

Container layout (little-endian)::

    header   magic b"SXHF", version u8 = 2, 3 zero bytes, block_size u32
    block    symbol count u32 (>= 1), payload bits u32, CRC-32 of the original block u32,
             256 code lengths as 4-bit nibbles (128 bytes, high nibble first), payload
    ...      one record per block, in order
    end      u32 0, block count u32, total length u64,
             block table: (offset u64, symbol count u32) per block, CRC-32 of the end record u32

The CRC-32 of block ``i`` starts from the value ``i`` (``zlib.crc32(block, i)``), so a block
moved to another position fails its check. Version 1 started every block's CRC-32 from 0, which
let two blocks of equal record size swap places undetected; it is still read.
"""
from __future__ import annotations

import functools
import os
import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _huffman
from ._validation import as_array, integer

if TYPE_CHECKING:
    from typing_extensions import Buffer

MAGIC = b"SXHF"
VERSION = 2
#: Versions :func:`decompress` reads; in version 1 every block's CRC-32 starts from 0.
READ_VERSIONS = (1, 2)
#: Longest code length :class:`HuffmanCode` supports (the bit buffers are 64 bits wide).
MAX_CODE_LENGTH = 32
#: Code length limit inside the container (lengths are stored as nibbles).
BLOCK_CODE_LENGTH = 15
DEFAULT_BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = 1 << 26
#: Alphabets: bytes (and uint8 arrays) use 256 symbols, uint16 arrays 65536.
SYMBOL_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))

_HEADER = struct.Struct("<4sB3sI")
_BLOCK = struct.Struct("<III")
_LENGTHS_BYTES = 128
_END = struct.Struct("<IIQ")
_TABLE_ENTRY = struct.Struct("<QI")
_CRC = struct.Struct("<I")
#: Threads coding blocks at once (the kernels and zlib.crc32 release the GIL).
WORKERS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


# --------------------------------------------------------------------------- validation
def as_symbols(x, name: str) -> np.ndarray:
    """``x`` as a contiguous 1-D uint8 or uint16 array (bytes-like input becomes uint8)."""
    if isinstance(x, (bytes, bytearray, memoryview)):
        return np.frombuffer(as_bytes(x, name), dtype=np.uint8)
    arr = as_array(x, name)
    if arr.dtype not in SYMBOL_DTYPES:
        raise TypeError(f"{name} must be bytes-like or a uint8/uint16 array, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def as_bytes(x, name: str) -> memoryview:
    """A flat unsigned-byte view of a bytes-like object or uint8 array."""
    try:
        view = memoryview(x)
    except (TypeError, ValueError):   # ValueError: numpy arrays without a buffer format
        raise TypeError(f"{name} must be bytes-like, got {type(x).__name__}") from None
    if view.itemsize != 1 and view.nbytes:
        raise TypeError(f"{name} must be bytes-like (1-byte items), got format {view.format!r}")
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    if not view.nbytes:
        return memoryview(b"")
    try:
        return view.cast("B")
    except TypeError:   # 1-byte items that are not bytes: bool, "S1"
        raise TypeError(f"{name} must be bytes-like (bytes or uint8), got format {view.format!r}") from None


def _count(symbols: np.ndarray) -> np.ndarray:
    counts = np.zeros(256 if symbols.dtype == np.uint8 else 65536, dtype=np.int64)
    _huffman.count_symbols(symbols, counts)
    return counts


def entropy_bits(symbols: ArrayLike) -> float:
    """Shannon entropy of the symbols' empirical distribution, in bits per symbol.

    Parameters
    ----------
    symbols : bytes-like or array_like of uint8 / uint16, shape (n,)

    Returns
    -------
    float
        ``-sum(p * log2(p))`` over the symbols that occur; 0 for empty or constant input.
        ``n * entropy_bits / 8`` bytes is the bound no symbol-by-symbol code can beat.
    """
    counts = _count(as_symbols(symbols, "symbols"))
    counts = counts[counts > 0]
    if counts.size == 0:
        return 0.0
    p = counts / counts.sum()
    return float(max(0.0, -(p * np.log2(p)).sum()))


# --------------------------------------------------------------------------- the code
class HuffmanCode:
    """A canonical prefix code over ``alphabet_size`` symbols, described by its code lengths.

    Build one with :meth:`from_data` or :meth:`from_frequencies`, or directly from code lengths
    (a length of 0 means the symbol has no code). Lengths must satisfy Kraft's inequality; an
    incomplete code (Kraft sum < 1, e.g. a single 1-bit code) is allowed.

    Attributes
    ----------
    lengths : ndarray of uint8, shape (alphabet_size,)
        Code length of each symbol, 0 for symbols without a code. Read-only.
    codes : ndarray of uint32, shape (alphabet_size,)
        Canonical code of each symbol, right-aligned (its ``lengths[s]`` low bits). Read-only.
    max_length : int
        The longest code length (0 for a code without symbols).
    """

    def __init__(self, lengths: ArrayLike) -> None:
        arr = as_array(lengths, "lengths")
        if arr.ndim != 1 or not 1 <= arr.size <= 65536:
            raise ValueError(f"lengths must be 1-D with 1 to 65536 entries, got shape {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"lengths must be an integer array, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() > MAX_CODE_LENGTH):
            raise ValueError(f"lengths must lie in [0, {MAX_CODE_LENGTH}], got "
                             f"[{arr.min()}, {arr.max()}]")
        self._lengths = arr.astype(np.uint8)
        self._codes, self._canonical = _canonical_codes(self._lengths)
        self._lengths.flags.writeable = False
        self._codes.flags.writeable = False
        self._tables: tuple[np.ndarray, ...] | None = None
        self._padded: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    # ---- construction
    @classmethod
    def from_frequencies(cls, freqs: ArrayLike, *, max_length: int = 15) -> HuffmanCode:
        """The optimal code with lengths at most ``max_length`` for these frequencies.

        Parameters
        ----------
        freqs : array_like of non-negative integers, shape (alphabet_size,)
            ``freqs[s]`` is how often symbol ``s`` occurs; symbols with frequency 0 get no
            code. ``alphabet_size`` is 1 to 65536.
        max_length : int, default 15
            Longest allowed code, 1 to 32; ``2**max_length`` must be at least the number of
            symbols that occur.

        Returns
        -------
        HuffmanCode
            Minimises ``sum(freqs * lengths)`` under the length limit (package-merge), so it
            equals the Huffman optimum whenever the limit does not bind. A single symbol that
            occurs gets a 1-bit code.
        """
        arr = as_array(freqs, "freqs")
        if arr.ndim != 1 or not 1 <= arr.size <= 65536:
            raise ValueError(f"freqs must be 1-D with 1 to 65536 entries, got shape {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"freqs must be an integer array, got dtype {arr.dtype}")
        if arr.min() < 0:
            raise ValueError(f"freqs must be non-negative, got {arr.min()} for symbol "
                             f"{int(np.argmin(arr))}")
        max_length = integer(max_length, "max_length", low=1, high=MAX_CODE_LENGTH)
        used = np.flatnonzero(arr)
        if sum(int(f) for f in arr[used]) >= 1 << 58:
            raise ValueError("freqs must sum to less than 2**58")
        if used.size > 1 << max_length:
            raise ValueError(f"max_length={max_length} is too small for {used.size} symbols "
                             f"(needs at least {(used.size - 1).bit_length()})")
        lengths = np.zeros(arr.size, dtype=np.uint8)
        if used.size == 1:
            lengths[used] = 1
        elif used.size > 1:
            order = used[np.argsort(arr[used], kind="stable")]
            sorted_lengths = np.empty(order.size, dtype=np.uint8)
            _huffman.package_merge(arr[order].astype(np.int64), max_length, sorted_lengths)
            lengths[order] = sorted_lengths
        return cls(lengths)

    @classmethod
    def from_data(cls, symbols: ArrayLike, *, max_length: int = 15) -> HuffmanCode:
        """The optimal length-limited code for ``symbols``.

        Parameters
        ----------
        symbols : bytes-like or array_like of uint8 / uint16, shape (n,)
            Bytes and uint8 arrays give a 256-symbol alphabet, uint16 arrays 65536.
        max_length : int, default 15
            Longest allowed code, see :meth:`from_frequencies`.
        """
        return cls.from_frequencies(_count(as_symbols(symbols, "symbols")), max_length=max_length)

    # ---- properties
    @property
    def lengths(self) -> NDArray[np.uint8]:
        return self._lengths

    @property
    def codes(self) -> np.ndarray:
        return self._codes

    @property
    def alphabet_size(self) -> int:
        return self._lengths.size

    @property
    def max_length(self) -> int:
        return int(self._lengths.max())

    def __repr__(self) -> str:
        used = int(np.count_nonzero(self._lengths))
        return (f"HuffmanCode(alphabet_size={self.alphabet_size}, symbols={used}, "
                f"max_length={self.max_length})")

    def __eq__(self, other) -> bool:
        if not isinstance(other, HuffmanCode):
            return NotImplemented
        return np.array_equal(self._lengths, other._lengths)

    __hash__ = None  # type: ignore[assignment]   # equal by value, so unhashable

    def bit_length(self, freqs: ArrayLike) -> int:
        """Total encoded bits ``sum(freqs * lengths)`` for symbol frequencies ``freqs``."""
        freqs = np.asarray(freqs, dtype=np.int64)
        return int(freqs[: self.alphabet_size] @ self._lengths.astype(np.int64))

    # ---- coding
    def _padded_tables(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Lengths and codes padded to every value of ``dtype`` (indexable by any symbol)."""
        size = 256 if dtype == np.uint8 else 65536
        if size not in self._padded:
            lengths = np.zeros(size, dtype=np.uint8)
            codes = np.zeros(size, dtype=np.uint32)
            n = min(size, self.alphabet_size)
            lengths[:n], codes[:n] = self._lengths[:n], self._codes[:n]
            self._padded[size] = lengths, codes
        return self._padded[size]

    def encode(self, symbols: ArrayLike) -> tuple[bytes, int]:
        """Pack the codes of ``symbols`` MSB-first.

        Parameters
        ----------
        symbols : bytes-like or array_like of uint8 / uint16, shape (n,)

        Returns
        -------
        payload : bytes
            ``ceil(nbits / 8)`` bytes; the last byte is padded with zero bits.
        nbits : int
            Number of meaningful bits.

        Raises
        ------
        ValueError
            A symbol has no code.
        """
        syms = as_symbols(symbols, "symbols")
        lengths, codes = self._padded_tables(syms.dtype)
        counts = _count(syms)
        missing = np.flatnonzero((counts > 0) & (lengths == 0))
        if missing.size:
            raise ValueError(f"symbols contains {missing.size} symbol(s) without a code, "
                             f"first: {int(missing[0])}")
        nbits = int(counts @ lengths.astype(np.int64))
        out = np.empty((nbits + 7) // 8, dtype=np.uint8)
        if syms.size:
            _huffman.encode(syms, codes, lengths, self.max_length, out)
        return out.tobytes(), nbits

    def decode(self, payload: Buffer, nbits: int, count: int) -> NDArray[np.uint8 | np.uint16]:
        """Decode ``count`` symbols from the first ``nbits`` bits of ``payload``.

        Parameters
        ----------
        payload : bytes-like
            At least ``ceil(nbits / 8)`` bytes; further bytes are ignored.
        nbits : int
            Number of meaningful bits; decoding must use exactly these.
        count : int
            Number of symbols to decode.

        Returns
        -------
        ndarray, shape (count,)
            uint8 when ``alphabet_size <= 256``, uint16 otherwise.

        Raises
        ------
        ValueError
            The bits are not a sequence of ``count`` codes using exactly ``nbits`` bits.
        """
        data = as_bytes(payload, "payload")
        nbits = integer(nbits, "nbits", low=0, high=8 * data.nbytes)
        count = integer(count, "count", low=0, high=nbits if self.max_length else 0)
        data = data[: (nbits + 7) // 8]
        out = np.empty(count, dtype=np.uint8 if self.alphabet_size <= 256 else np.uint16)
        if count == 0:
            if nbits:
                raise ValueError(f"nbits={nbits} but count=0: no bits may be left over")
            return out
        if self._tables is None:
            table = np.empty(1 << _huffman.PRIMARY, dtype=np.uint64)
            _huffman.build_decode_table(self._lengths, self._codes, table)
            self._tables = (table, *self._canonical)
        status, done, used = _huffman.decode(data, nbits, out, self._tables[0], self.max_length,
                                             *self._tables[1:])
        if status == _huffman.INVALID_CODE:
            raise ValueError(f"invalid code at symbol {done} (bit {used}): the bits match no code")
        if used != nbits:
            raise ValueError(f"decoding {count} symbols used {used} bits, but nbits={nbits}")
        return out


def _canonical_codes(lengths: np.ndarray):
    """Canonical codes for ``lengths``, and the tables of canonical decoding.

    Returns ``codes`` and ``(first_code, count, offset, sorted_symbols)``: the codes of length
    ``l`` are ``first_code[l] .. first_code[l] + count[l] - 1`` and belong, in order, to
    ``sorted_symbols[offset[l]:]``.
    """
    used = np.flatnonzero(lengths)
    order = used[np.argsort(lengths[used], kind="stable")]
    count = np.bincount(lengths[order], minlength=MAX_CODE_LENGTH + 1).astype(np.int64)
    count[0] = 0
    kraft = int((count << (MAX_CODE_LENGTH - np.arange(MAX_CODE_LENGTH + 1))).sum())
    if kraft > 1 << MAX_CODE_LENGTH:
        raise ValueError(f"lengths oversubscribe the code: Kraft sum {kraft / 2**MAX_CODE_LENGTH:g} > 1")
    first_code = np.zeros(MAX_CODE_LENGTH + 1, dtype=np.int64)
    for length in range(1, MAX_CODE_LENGTH + 1):
        first_code[length] = (first_code[length - 1] + count[length - 1]) << 1
    offset = np.concatenate([[0], np.cumsum(count)[:-1]])
    sorted_lengths = lengths[order].astype(np.int64)
    codes = np.zeros(lengths.size, dtype=np.uint32)
    codes[order] = first_code[sorted_lengths] + np.arange(order.size) - offset[sorted_lengths]
    sorted_symbols = order.astype(np.uint16) if order.size else np.zeros(1, dtype=np.uint16)
    canonical = (first_code.astype(np.uint32), count.astype(np.uint32), offset.astype(np.uint32),
                 sorted_symbols)
    return codes, canonical


# --------------------------------------------------------------------------- the container
def _check_block_size(block_size) -> int:
    return integer(block_size, "block_size", low=1, high=MAX_BLOCK_SIZE)


def _pack_lengths(lengths: np.ndarray) -> bytes:
    return ((lengths[0::2] << 4) | lengths[1::2]).astype(np.uint8).tobytes()


def _unpack_lengths(packed: bytes | memoryview) -> np.ndarray:
    nibbles = np.frombuffer(packed, dtype=np.uint8)
    lengths = np.empty(256, dtype=np.uint8)
    lengths[0::2], lengths[1::2] = nibbles >> 4, nibbles & 15
    return lengths


def _crc(block, index: int, version: int = VERSION) -> int:
    """A block's CRC-32: started from its index (version 2), from 0 (version 1)."""
    return zlib.crc32(block, index if version >= 2 else 0)


def _encode_block(block: memoryview, index: int) -> tuple[memoryview, bytearray]:
    """The block and its record: header, code lengths, payload."""
    symbols = np.frombuffer(block, dtype=np.uint8)
    counts = _count(symbols)
    code = HuffmanCode.from_frequencies(counts, max_length=BLOCK_CODE_LENGTH)
    nbits = code.bit_length(counts)
    start = _BLOCK.size + _LENGTHS_BYTES
    record = bytearray(start + (nbits + 7) // 8)
    _BLOCK.pack_into(record, 0, symbols.size, nbits, _crc(block, index))
    record[_BLOCK.size:start] = _pack_lengths(code.lengths)
    _huffman.encode(symbols, code.codes, code.lengths, code.max_length, memoryview(record)[start:])
    return block, record


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor | None:
    """This process's thread pool (a forked child gets its own: threads do not survive fork)."""
    if WORKERS <= 1:
        return None
    pid = os.getpid()
    if pid not in _POOLS:
        _POOLS.clear()
        _POOLS[pid] = ThreadPoolExecutor(WORKERS, thread_name_prefix="shouxie-huffman")
    return _POOLS[pid]


def _in_order(jobs: Iterable[Callable[[], object]]) -> Iterator:
    """Run ``jobs`` on a shared thread pool and yield their results in order.

    At most ``2 * WORKERS`` jobs are in flight, so memory stays bounded. When producing the next
    job fails (a corrupt header, say), the errors of the jobs before it are raised first.
    """
    pool = _pool()
    if pool is None:
        yield from (job() for job in jobs)
        return
    pending: deque = deque()
    jobs = iter(jobs)
    while True:
        try:
            job = next(jobs)
        except StopIteration:
            break
        except ValueError:
            for future in pending:
                future.result()
            raise
        pending.append(pool.submit(job))
        if len(pending) >= 2 * WORKERS:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _container(blocks: Iterable[memoryview], block_size: int) -> Iterator[bytes]:
    """The container's pieces, in order, for these non-empty blocks."""
    yield _HEADER.pack(MAGIC, VERSION, bytes(3), block_size)
    offset, total, table = _HEADER.size, 0, []
    jobs = (functools.partial(_encode_block, block, i) for i, block in enumerate(blocks))
    for block, record in _in_order(jobs):
        table.append(_TABLE_ENTRY.pack(offset, len(block)))
        offset += len(record)
        total += len(block)
        yield record
    end = _END.pack(0, len(table), total) + b"".join(table)
    yield end + _CRC.pack(zlib.crc32(end))


def compress(data: Buffer, *, block_size: int = DEFAULT_BLOCK_SIZE) -> bytes:
    """Huffman-compress ``data`` into a self-describing container.

    Parameters
    ----------
    data : bytes-like
        Any bytes, including none.
    block_size : int, default 1 MiB
        Bytes per independently coded block, 1 to 64 MiB.

    Returns
    -------
    bytes
        The container (see the module docstring); :func:`decompress` returns ``data``.
    """
    view = as_bytes(data, "data")
    block_size = _check_block_size(block_size)
    blocks = (view[i:i + block_size] for i in range(0, view.nbytes, block_size))
    return b"".join(_container(blocks, block_size))


#: A stream's ``read(n)``: bytes, or (reading a blob in memory) slices of it.
_Read = Callable[[int], "bytes | memoryview"]


class _Reader:
    """Exact reads from a binary stream, with errors saying what was being read."""

    def __init__(self, read: _Read) -> None:
        self._read = read
        self.offset = 0

    def read_upto(self, n: int) -> bytes | memoryview:
        """``n`` bytes, fewer only at the end of the stream."""
        chunks, missing = [], n
        while missing:
            chunk = self._read(missing)
            if not chunk:
                break
            chunks.append(chunk)
            missing -= len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.offset += len(data)
        return data

    def read(self, n: int, what: str) -> bytes | memoryview:
        """Exactly ``n`` bytes; ValueError naming ``what`` when the stream ends first."""
        data = self.read_upto(n)
        if len(data) < n:
            raise ValueError(f"truncated: {what} needs {n} bytes, only {len(data)} left")
        return data


def _read_block(reader: _Reader, index: int, symbols: int, block_size: int, version: int):
    """Read and check block ``index``'s record; return the job that decodes and verifies it."""
    where = f"block {index}"
    if symbols > block_size:
        raise ValueError(f"{where}: symbol count {symbols} exceeds the block size {block_size}")
    nbits, crc = struct.unpack("<II", reader.read(8, f"{where} header"))
    if not symbols <= nbits <= BLOCK_CODE_LENGTH * symbols:
        raise ValueError(f"{where}: {nbits} payload bits cannot hold {symbols} symbols "
                         f"of 1 to {BLOCK_CODE_LENGTH} bits")
    lengths = _unpack_lengths(reader.read(_LENGTHS_BYTES, f"{where} code lengths"))
    try:
        code = HuffmanCode(lengths)
    except ValueError as exc:
        raise ValueError(f"{where}: bad code lengths: {exc}") from None
    if code.max_length == 0:
        raise ValueError(f"{where}: the code lengths define no code")
    payload = reader.read((nbits + 7) // 8, f"{where} payload")
    return functools.partial(_decode_payload, where, code, payload, nbits, symbols, crc, index, version)


def _decode_payload(where: str, code: HuffmanCode, payload, nbits: int, symbols: int,
                    crc: int, index: int, version: int) -> np.ndarray:
    try:
        out = code.decode(payload, nbits, symbols)
    except ValueError as exc:
        raise ValueError(f"{where}: corrupt payload: {exc}") from None
    actual = _crc(out, index, version)
    if actual != crc:
        raise ValueError(f"{where}: CRC-32 mismatch (stored {crc:#010x}, computed {actual:#010x})")
    return out


def _blocks(read: _Read) -> Iterator[np.ndarray]:
    """Decode a container from ``read``, yielding each block's bytes; ValueError when invalid."""
    return _in_order(_block_jobs(read))


def _block_jobs(read: _Read) -> Iterator[Callable[[], np.ndarray]]:
    """Parse a container from ``read``, yielding a decoding job per block."""
    reader = _Reader(read)
    magic, version, reserved, block_size = _HEADER.unpack(reader.read(_HEADER.size, "header"))
    if magic != MAGIC:
        raise ValueError(f"wrong magic {magic!r}: not a shouxie Huffman container (expected {MAGIC!r})")
    if version not in READ_VERSIONS:
        raise ValueError(f"unsupported container version {version} (this reads versions "
                         f"{', '.join(map(str, READ_VERSIONS))})")
    if reserved != bytes(3):
        raise ValueError(f"header reserved bytes must be zero, got {reserved!r}")
    if not 1 <= block_size <= MAX_BLOCK_SIZE:
        raise ValueError(f"header block size {block_size} outside [1, {MAX_BLOCK_SIZE}]")
    table: list[bytes] = []
    while True:
        offset = reader.offset
        (symbols,) = _CRC.unpack(reader.read(4, f"block {len(table)} header"))
        if symbols == 0:
            break
        yield _read_block(reader, len(table), symbols, block_size, version)
        table.append(_TABLE_ENTRY.pack(offset, symbols))
    rest = reader.read(_END.size - 4, "end record")
    nblocks, total = struct.unpack("<IQ", rest)
    if nblocks != len(table):
        raise ValueError(f"end record: block count {nblocks}, but the stream holds {len(table)} blocks")
    stored = reader.read(nblocks * _TABLE_ENTRY.size, "block table")
    end = _END.pack(0, nblocks, total) + stored
    (crc,) = _CRC.unpack(reader.read(_CRC.size, "end record CRC-32"))
    if zlib.crc32(end) != crc:
        raise ValueError("end record: CRC-32 mismatch")
    for i, (mine, theirs) in enumerate(zip(table, _table_entries(stored))):
        if _TABLE_ENTRY.unpack(mine) != theirs:
            raise ValueError(f"block table entry {i} {theirs} disagrees with block {i} "
                             f"{_TABLE_ENTRY.unpack(mine)} (offset, symbol count)")
    if total != sum(_TABLE_ENTRY.unpack(e)[1] for e in table):
        raise ValueError(f"end record: total length {total} disagrees with the blocks")
    extra = read(1)
    if extra:
        raise ValueError(f"trailing garbage after the end of the container (at byte {reader.offset})")


def _table_entries(stored: bytes | memoryview):
    return [_TABLE_ENTRY.unpack_from(stored, i) for i in range(0, len(stored), _TABLE_ENTRY.size)]


def decompress(blob: Buffer) -> bytes:
    """Invert :func:`compress`.

    Parameters
    ----------
    blob : bytes-like
        A container written by :func:`compress` or :func:`compress_stream`.

    Returns
    -------
    bytes
        The original data.

    Raises
    ------
    ValueError
        Wrong magic or version, truncation, a corrupt block (with its index), a CRC-32
        mismatch, an inconsistent block table, or bytes after the end of the container.
    """
    view = as_bytes(blob, "blob")
    position = 0

    def read(n: int) -> memoryview:  # slices of the blob: payloads are not copied
        nonlocal position
        chunk = view[position:position + n]
        position += len(chunk)
        return chunk

    return b"".join(block.data for block in _blocks(read))


def compress_stream(src, dst, *, block_size: int = DEFAULT_BLOCK_SIZE) -> int:
    """Compress binary stream ``src`` into ``dst`` one block at a time; returns bytes written.

    Memory stays within a few blocks; the output is the same as ``compress(src.read())``.
    """
    block_size = _check_block_size(block_size)
    written = 0
    for piece in _container(_full_blocks(src.read, block_size), block_size):
        dst.write(piece)
        written += len(piece)
    return written


def _full_blocks(read: Callable[[int], bytes], block_size: int) -> Iterator[memoryview]:
    """Blocks of exactly ``block_size`` bytes from ``read`` (the last may be shorter)."""
    reader = _Reader(read)
    while True:
        block = reader.read_upto(block_size)
        if block:
            yield memoryview(block)
        if len(block) < block_size:
            return


def decompress_stream(src, dst) -> int:
    """Decompress binary stream ``src`` into ``dst`` one block at a time; returns bytes written.

    On a ``ValueError`` the blocks before the bad one have already been written to ``dst``.
    """
    written = 0
    for block in _blocks(src.read):
        dst.write(block)
        written += block.size
    return written

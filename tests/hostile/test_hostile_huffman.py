"""Mutation fuzz of the Huffman container: every mutation of a real blob decompresses to the exact
original or raises ``ValueError`` -- never another exception, a hang, or other bytes.

The mutations: every truncation of small blobs, random bit flips and byte overwrites, inserted,
deleted and appended bytes, swapped, duplicated and dropped block records, and edited length
fields (symbol counts, payload bits, block count, total length, block table), each also with the
end record rebuilt to agree (its CRC-32 recomputed), so that only the per-block checks remain.
"""
from __future__ import annotations

import itertools
import struct
import zlib

import numpy as np
import pytest

from shouxie.core import compress, decompress, huffman

pytestmark = pytest.mark.timeout(600)

HEADER = huffman._HEADER.size
RECORD_HEAD = huffman._BLOCK.size + huffman._LENGTHS_BYTES


def _corpus():
    rng = np.random.default_rng(16)
    skewed = (rng.zipf(1.4, 3000) % 256).astype(np.uint8).tobytes()
    return {
        "empty": (b"", 64),
        "one byte": (b"x", 64),
        "text": (b"hello, hello, huffman! " * 20 + bytes(range(256)), 200),
        # blocks of equal size and equal record length but different bytes: swapping two of them
        # keeps every offset and length right, only the block's position can tell
        "equal blocks": (b"A" * 300 + b"B" * 300 + b"C" * 300 + b"A" * 300, 300),
        "skewed": (skewed, 500),
        "uniform": (rng.integers(0, 256, 2000, dtype=np.uint8).tobytes(), 700),
    }


CORPUS = _corpus()
BLOBS = {name: compress(data, block_size=bs) for name, (data, bs) in CORPUS.items()}


def split(blob: bytes):
    """The header, the block records and the end record (with its table and CRC) of a blob."""
    records, offset = [], HEADER
    while True:
        (symbols,) = struct.unpack_from("<I", blob, offset)
        if symbols == 0:
            break
        nbits = struct.unpack_from("<I", blob, offset + 4)[0]
        size = RECORD_HEAD + (nbits + 7) // 8
        records.append(blob[offset:offset + size])
        offset += size
    return blob[:HEADER], records, blob[offset:]


def assemble(header: bytes, records: list[bytes], end: bytes | None = None) -> bytes:
    """A blob from its pieces; without ``end``, an end record that agrees with the records."""
    if end is None:
        offsets = np.cumsum([HEADER] + [len(r) for r in records[:-1]]) if records else []
        counts = [struct.unpack_from("<I", r)[0] for r in records]
        table = b"".join(struct.pack("<QI", int(o), c) for o, c in zip(offsets, counts))
        body = struct.pack("<IIQ", 0, len(records), sum(counts)) + table
        end = body + struct.pack("<I", zlib.crc32(body))
    return header + b"".join(records) + end


def assert_exact_or_value_error(blob: bytes, original: bytes) -> bool:
    """True when ``blob`` decoded (to exactly ``original``), False for a ValueError."""
    try:
        out = decompress(blob)
    except ValueError:
        return False
    assert out == original, "a corrupt container decoded to other bytes without an error"
    return True


def test_split_and_assemble_round_trip():
    for name, blob in BLOBS.items():
        header, records, end = split(blob)
        assert assemble(header, records, end) == blob == assemble(header, records), name


@pytest.mark.parametrize("name", ["empty", "one byte", "text", "equal blocks"])
def test_every_truncation(name):
    blob, original = BLOBS[name], CORPUS[name][0]
    for n in range(len(blob)):
        assert not assert_exact_or_value_error(blob[:n], original), f"truncation to {n} bytes decoded"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_random_bit_flips_and_overwrites(name):
    blob, original = BLOBS[name], CORPUS[name][0]
    rng = np.random.default_rng(len(blob))
    for trial in range(600):
        mutated = np.frombuffer(blob, np.uint8).copy()
        if trial % 2:
            for bit in rng.integers(0, 8 * mutated.size, rng.integers(1, 9)):
                mutated[bit // 8] ^= np.uint8(1 << (bit % 8))
        else:
            start = int(rng.integers(0, mutated.size))
            chunk = mutated[start:start + int(rng.integers(1, 9))]
            chunk[:] = rng.integers(0, 256, chunk.size, dtype=np.uint8)
        assert_exact_or_value_error(mutated.tobytes(), original)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_inserted_deleted_and_appended_bytes(name):
    blob, original = BLOBS[name], CORPUS[name][0]
    rng = np.random.default_rng(7)
    for _ in range(300):
        at = int(rng.integers(0, len(blob) + 1))
        garbage = rng.integers(0, 256, int(rng.integers(1, 65)), dtype=np.uint8).tobytes()
        assert not assert_exact_or_value_error(blob + garbage, original)
        assert not assert_exact_or_value_error(blob[:at] + garbage[:1] + blob[at:], original)
        if at < len(blob):
            assert not assert_exact_or_value_error(blob[:at] + blob[at + 1:], original)
        # a second container appended is garbage too
    assert not assert_exact_or_value_error(blob + BLOBS["one byte"], original)


@pytest.mark.parametrize("name", ["equal blocks", "skewed", "uniform", "text"])
@pytest.mark.parametrize("fix_end", [False, True], ids=["stale end", "rebuilt end"])
def test_swapped_duplicated_and_dropped_blocks(name, fix_end):
    header, records, end = split(BLOBS[name])
    original = CORPUS[name][0]
    assert len(records) >= 2
    mutations = []
    for i, j in itertools.combinations(range(len(records)), 2):
        swapped = list(records)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        mutations.append(swapped)
    for i in range(len(records)):
        mutations.append(records[:i] + records[i + 1:])            # dropped
        mutations.append(records[:i + 1] + records[i:])            # duplicated
        mutations.append(records[i:] + records[:i])                # rotated
    for recs in mutations:
        blob = assemble(header, recs, None if fix_end else end)
        if b"".join(recs) == b"".join(records):
            assert decompress(blob) == original
        elif fix_end and recs == records[:len(recs)]:
            # the last blocks dropped and the end record rebuilt: exactly the container of a
            # prefix of the data, which no format can tell apart
            assert blob == compress(original[:len(recs) * CORPUS[name][1]], block_size=CORPUS[name][1])
        else:
            assert not assert_exact_or_value_error(blob, original)


def _edit_u32(record: bytes, at: int, value: int) -> bytes:
    return record[:at] + struct.pack("<I", value % 2**32) + record[at + 4:]


@pytest.mark.parametrize("name", ["text", "equal blocks", "skewed", "one byte"])
@pytest.mark.parametrize("fix_end", [False, True], ids=["stale end", "rebuilt end"])
def test_edited_length_fields(name, fix_end):
    header, records, end = split(BLOBS[name])
    original = CORPUS[name][0]
    rng = np.random.default_rng(3)
    deltas = [-2**31, -1000, -8, -1, 1, 7, 8, 1000, 2**31]
    cases = 0
    for i, field in itertools.product(range(len(records)), (0, 4, 8)):   # symbol count, bits, CRC
        old = struct.unpack_from("<I", records[i], field)[0]
        for value in [old + d for d in deltas] + [0, 1, 2**32 - 1] + rng.integers(0, 2**32, 4).tolist():
            if value % 2**32 == old:
                continue
            recs = list(records)
            recs[i] = _edit_u32(recs[i], field, int(value))
            assert not assert_exact_or_value_error(assemble(header, recs, None if fix_end else end), original)
            cases += 1
    # the end record's own fields: block count, total length, table entries (CRC left stale)
    body = end[:-4]
    for at, size in [(4, 4), (8, 8)] + [(16 + 12 * k + f, s) for k in range(len(records)) for f, s in ((0, 8), (8, 4))]:
        old = int.from_bytes(body[at:at + size], "little")
        for d in (-1, 1, 2**20):
            edited = body[:at] + ((old + d) % 2**(8 * size)).to_bytes(size, "little") + body[at + size:]
            for crc in (end[-4:], struct.pack("<I", zlib.crc32(edited))):
                assert not assert_exact_or_value_error(assemble(header, records, edited + crc), original)
                cases += 1
    assert cases > 50
    # the header's block size only bounds the blocks: a larger one still reads the same blocks
    bigger = header[:8] + struct.pack("<I", 2**26) + BLOBS[name][HEADER:]
    assert assert_exact_or_value_error(bigger, original)


def test_version_1_containers_still_decode():
    """Version 1 (every block's CRC-32 started from 0) is still read."""
    for name, (data, block_size) in CORPUS.items():
        header, records, _ = split(BLOBS[name])
        v1 = []
        for start in range(0, len(data), block_size):
            block = data[start:start + block_size]
            v1.append(_edit_u32(records[len(v1)], 8, zlib.crc32(block)))
        blob = assemble(header[:4] + b"\x01" + header[5:], v1)
        assert decompress(blob) == data, name

import heapq
import io
import itertools
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shouxie.core import HuffmanCode, compress, decompress, entropy_bits
from shouxie.core.huffman import compress_stream, decompress_stream
from shouxie.plugins import coding, collect_ops
from shouxie.runner import main

RNG = np.random.default_rng(1234)


# --------------------------------------------------------------------------- references
def huffman_total_bits(freqs):
    """Optimal (unlimited) prefix-code cost: the sum of the merged weights (plain Huffman)."""
    heap = [int(f) for f in freqs if f > 0]
    if len(heap) <= 1:
        return sum(heap)
    heapq.heapify(heap)
    total = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        total += merged
        heapq.heappush(heap, merged)
    return total


def brute_force_limited_cost(freqs, max_length):
    """Cheapest lengths in 1..max_length satisfying Kraft, by enumeration (tiny alphabets)."""
    best = None
    for lengths in itertools.product(range(1, max_length + 1), repeat=len(freqs)):
        if sum(2.0 ** -l for l in lengths) <= 1:
            cost = sum(f * l for f, l in zip(freqs, lengths))
            best = cost if best is None else min(best, cost)
    return best


def deflate_codes(lengths):
    """Canonical codes as RFC 1951 section 3.2.2 assigns them."""
    bl_count = [0] * 33
    for length in lengths:
        if length:
            bl_count[length] += 1
    next_code, code = [0] * 33, 0
    for bits in range(1, 33):
        code = (code + bl_count[bits - 1]) << 1
        next_code[bits] = code
    codes = []
    for length in lengths:
        codes.append(next_code[length] if length else 0)
        if length:
            next_code[length] += 1
    return codes


def bit_string_encode(code, symbols):
    """MSB-first packing through a string of '0'/'1' (independent of the kernel)."""
    bits = "".join(format(int(code.codes[s]), f"0{int(code.lengths[s])}b") for s in symbols)
    packed = np.packbits(np.array([int(b) for b in bits], dtype=np.uint8)) if bits else np.empty(0, np.uint8)
    return packed.tobytes(), len(bits)


def skewed(n, seed=0):
    """Geometric-like bytes: Huffman depth well above 15, so the length limit binds."""
    draws = np.random.default_rng(seed).geometric(0.45, size=n) - 1
    return np.minimum(draws, 255).astype(np.uint8)


def kraft(lengths):
    return sum(2.0 ** -int(l) for l in lengths if l)


# --------------------------------------------------------------------------- HuffmanCode
@pytest.mark.parametrize("size", [2, 3, 5, 17, 256, 1000])
@pytest.mark.parametrize("seed", range(3))
def test_unlimited_codes_are_optimal(size, seed):
    rng = np.random.default_rng(seed)
    freqs = rng.integers(0, 1000, size=size)
    freqs[:2] += 1
    code = HuffmanCode.from_frequencies(freqs, max_length=32)
    assert code.bit_length(freqs) == huffman_total_bits(freqs)
    assert kraft(code.lengths) == pytest.approx(1.0)
    assert ((code.lengths > 0) == (freqs > 0)).all()


def test_optimal_total_matches_bitarray():
    util = pytest.importorskip("bitarray.util")
    data = coding.zipf_bytes(50_000, seed=3)
    freqs = np.bincount(data, minlength=256)
    _, counts, _ = util.canonical_huffman({s: int(f) for s, f in enumerate(freqs) if f})
    bitarray_lengths = np.repeat(np.arange(len(counts)), counts)
    bitarray_total = int(np.sort(freqs[freqs > 0]) @ np.sort(bitarray_lengths)[::-1])
    assert HuffmanCode.from_data(data, max_length=32).bit_length(freqs) == bitarray_total


@pytest.mark.parametrize("freqs,max_length", [
    ([1, 1, 2, 4, 8], 3), ([1, 2, 3, 5, 8, 13], 3), ([1, 2, 3, 5, 8, 13], 4),
    ([10, 1, 1, 1, 1, 1], 3), ([1, 1, 1, 1], 2), ([5, 1, 1, 1, 1, 1, 1, 1], 3), ([3, 3, 100], 2),
])
def test_length_limited_codes_are_optimal(freqs, max_length):
    code = HuffmanCode.from_frequencies(freqs, max_length=max_length)
    assert code.max_length <= max_length
    assert kraft(code.lengths) <= 1
    assert code.bit_length(freqs) == brute_force_limited_cost(freqs, max_length)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=2, max_size=6), st.integers(0, 2))
def test_fuzz_length_limited_optimality(freqs, slack):
    max_length = min(4, (len(freqs) - 1).bit_length() + slack)
    code = HuffmanCode.from_frequencies(freqs, max_length=max_length)
    assert code.max_length <= max_length and kraft(code.lengths) <= 1
    assert code.bit_length(freqs) == brute_force_limited_cost(freqs, max_length)


def test_binding_limit_costs_under_half_a_percent():
    data = skewed(1 << 20)
    freqs = np.bincount(data, minlength=256)
    unlimited = HuffmanCode.from_data(data, max_length=32)
    assert unlimited.max_length > 15  # the limit really binds
    limited = HuffmanCode.from_data(data, max_length=15)
    assert limited.max_length == 15 and kraft(limited.lengths) <= 1
    assert limited.bit_length(freqs) <= 1.005 * huffman_total_bits(freqs)


def test_codes_are_canonical_and_prefix_free():
    code = HuffmanCode.from_data(coding.zipf_bytes(20_000, seed=5))
    assert code.codes.tolist() == deflate_codes(code.lengths.tolist())
    words = [format(int(c), f"0{int(l)}b") for c, l in zip(code.codes, code.lengths) if l]
    for a, b in itertools.permutations(words, 2):
        assert not b.startswith(a)


@pytest.mark.parametrize("data", [b"a", b"zzzz", np.full(10, 7, dtype=np.uint16)])
def test_one_distinct_symbol_gets_one_bit(data):
    code = HuffmanCode.from_data(data)
    assert np.count_nonzero(code.lengths) == 1 and code.max_length == 1
    payload, nbits = code.encode(data)
    assert nbits == len(data)
    assert code.decode(payload, nbits, len(data)).tobytes() == np.asarray(memoryview(data)).tobytes()


def test_empty_data_gives_an_empty_code():
    code = HuffmanCode.from_data(b"")
    assert code.max_length == 0 and code.alphabet_size == 256
    assert code.encode(b"") == (b"", 0)
    assert code.decode(b"", 0, 0).size == 0


def test_lengths_and_codes_are_read_only():
    code = HuffmanCode.from_data(b"hello world")
    with pytest.raises(ValueError):
        code.lengths[0] = 3
    with pytest.raises(ValueError):
        code.codes[0] = 3
    assert code == HuffmanCode(code.lengths) and repr(code).startswith("HuffmanCode(")


# --------------------------------------------------------------------------- encode / decode
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 63, 64, 65, 1000])
def test_encode_matches_bit_string_reference(n):
    data = coding.zipf_bytes(max(n, 1), seed=n)[:n]
    code = HuffmanCode.from_data(coding.zipf_bytes(5000, seed=99), max_length=15)
    data = data[code.lengths[data] > 0]
    assert code.encode(data) == bit_string_encode(code, data)
    payload, nbits = code.encode(data)
    np.testing.assert_array_equal(code.decode(payload, nbits, data.size), data)


def test_encode_matches_bitarray():
    pytest.importorskip("bitarray")
    data = coding.zipf_bytes(30_000, seed=7)
    lengths = HuffmanCode.from_data(data).lengths
    ours = coding.huffman_encode(data, lengths)
    ref = coding.bitarray_encode(data, lengths)
    assert ours["nbits"] == ref["nbits"]
    np.testing.assert_array_equal(ours["payload"], ref["payload"])
    np.testing.assert_array_equal(
        coding.huffman_decode(ours["payload"], ours["nbits"], data.size, lengths),
        coding.bitarray_decode(ref["payload"], ref["nbits"], data.size, lengths))


@pytest.mark.parametrize("max_length", [12, 16, 24, 32])
def test_long_codes_take_the_fallback_path(max_length):
    # Fibonacci-like frequencies give a deep tree: codes far longer than the primary table.
    fib = [1, 1]
    while len(fib) < 40:
        fib.append(fib[-1] + fib[-2])
    freqs = np.zeros(300, dtype=np.int64)
    freqs[np.arange(40) * 7] = fib
    code = HuffmanCode.from_frequencies(freqs, max_length=max_length)
    assert code.max_length == max_length and code.alphabet_size == 300
    symbols = np.repeat(np.arange(300, dtype=np.uint16)[freqs > 0], 5)
    RNG.shuffle(symbols)
    payload, nbits = code.encode(symbols)
    assert (payload, nbits) == bit_string_encode(code, symbols)
    decoded = code.decode(payload, nbits, symbols.size)
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, symbols)


def test_uint16_alphabet_round_trip():
    data = (RNG.zipf(1.2, size=50_000) % 65536).astype(np.uint16)
    code = HuffmanCode.from_data(data, max_length=20)
    assert code.alphabet_size == 65536
    assert code.bit_length(np.bincount(data, minlength=65536)) == huffman_total_bits(
        np.bincount(data)) or code.max_length == 20
    payload, nbits = code.encode(data)
    np.testing.assert_array_equal(code.decode(payload, nbits, data.size), data)


def test_non_contiguous_and_negative_stride_input():
    base = coding.zipf_bytes(4001, seed=2)
    code = HuffmanCode.from_data(base)
    for view in (base[::2], base[::-1], base[::-3]):
        payload, nbits = code.encode(view)
        assert (payload, nbits) == code.encode(view.copy())
        np.testing.assert_array_equal(code.decode(payload, nbits, view.size), view)
    assert HuffmanCode.from_data(base[::-1]) == code


def test_decode_rejects_bits_that_match_no_code():
    code = HuffmanCode([1, 0, 2])  # codes 0 and 10; prefix 11 is unused
    assert code.decode(bytes([0b01000000]), 3, 2).tolist() == [0, 2]
    with pytest.raises(ValueError, match="invalid code at symbol 1"):
        code.decode(bytes([0b01100000]), 3, 2)


@pytest.mark.parametrize("payload,nbits,count,message", [
    (b"\x00", 8, 3, "used 3 bits, but nbits=8"),
    (b"\x00", 2, 3, "count must be <= 2"),
    (b"\x00", 9, 1, "nbits must be <= 8"),
    (b"\x00", 1, 0, "no bits may be left over"),
    (b"\x80", 8, 8, "used 9 bits|invalid"),
])
def test_decode_bit_accounting(payload, nbits, count, message):
    code = HuffmanCode([1, 2, 2])  # 0, 10, 11
    with pytest.raises(ValueError, match=message):
        code.decode(payload, nbits, count)


@pytest.mark.parametrize("call,error,message", [
    (lambda: HuffmanCode.from_frequencies([1.0, 2.0]), TypeError, "freqs must be an integer array"),
    (lambda: HuffmanCode.from_frequencies([[1, 2]]), ValueError, "freqs must be 1-D"),
    (lambda: HuffmanCode.from_frequencies([]), ValueError, "1 to 65536 entries"),
    (lambda: HuffmanCode.from_frequencies([3, -1]), ValueError, "non-negative, got -1 for symbol 1"),
    (lambda: HuffmanCode.from_frequencies([1, 2], max_length=0), ValueError, "max_length must be >= 1"),
    (lambda: HuffmanCode.from_frequencies([1, 2], max_length=33), ValueError, "max_length must be <= 32"),
    (lambda: HuffmanCode.from_frequencies([1, 2], max_length=2.0), TypeError, "max_length must be an integer"),
    (lambda: HuffmanCode.from_frequencies([1] * 9, max_length=3), ValueError, "too small for 9 symbols"),
    (lambda: HuffmanCode.from_frequencies([2**60, 1]), ValueError, "sum to less than 2\\*\\*58"),
    (lambda: HuffmanCode([1, 1, 1]), ValueError, "oversubscribe"),
    (lambda: HuffmanCode([0, 33]), ValueError, "lengths must lie in"),
    (lambda: HuffmanCode([0.5]), TypeError, "lengths must be an integer array"),
    (lambda: HuffmanCode.from_data(np.zeros(3, dtype=np.int32)), TypeError, "uint8/uint16"),
    (lambda: HuffmanCode.from_data(np.zeros((2, 2), dtype=np.uint8)), ValueError, "symbols must be 1-D"),
    (lambda: HuffmanCode.from_data(b"ab").encode(b"abc"), ValueError, "without a code, first: 99"),
    (lambda: HuffmanCode.from_data(b"ab").encode(np.array([97, 300], dtype=np.uint16)), ValueError,
     "first: 300"),
    (lambda: HuffmanCode([1, 1]).decode("00", 1, 1), TypeError, "payload must be bytes-like"),
    (lambda: compress("text"), TypeError, "data must be bytes-like"),
    (lambda: compress(b"x", block_size=0), ValueError, "block_size must be >= 1"),
    (lambda: compress(np.arange(4, dtype=np.uint16)[::2]), TypeError, "1-byte items"),
    (lambda: entropy_bits([1, 2]), TypeError, "uint8/uint16"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_entropy_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    data = coding.zipf_bytes(10_000, seed=4)
    assert entropy_bits(data) == pytest.approx(stats.entropy(np.bincount(data), base=2))
    assert entropy_bits(b"") == 0.0 and entropy_bits(b"aaaa") == 0.0
    assert entropy_bits(bytes(range(256))) == pytest.approx(8.0)


# --------------------------------------------------------------------------- the container
ROUND_TRIPS = {
    "empty": b"",
    "one byte": b"\x00",
    "one repeated byte": b"\xff" * 100_000,
    "all 256 values": bytes(range(256)) * 3,
    "random": RNG.integers(0, 256, size=200_003, dtype=np.uint8).tobytes(),
    "skewed": skewed(300_000).tobytes(),
    "text": coding.file_bytes().tobytes(),
}


@pytest.mark.parametrize("name", ROUND_TRIPS)
@pytest.mark.parametrize("block_size", [1, 1000, 1 << 20])
def test_round_trip(name, block_size):
    data = ROUND_TRIPS[name]
    if block_size == 1 and len(data) > 1000:
        data = data[:1000]
    blob = compress(data, block_size=block_size)
    assert decompress(blob) == data
    assert decompress(bytearray(blob)) == data and decompress(memoryview(blob)) == data


def test_multi_megabyte_round_trip_and_ratio_close_to_zlib():
    data = coding.zipf_bytes(3 << 20, seed=11).tobytes()
    blob = compress(data)
    assert decompress(blob) == data
    zlib_blob = coding.zlib_huffman_compress(data)["blob"]
    assert len(blob) <= 1.005 * zlib_blob.size
    entropy_bytes = entropy_bits(data) * len(data) / 8
    assert entropy_bytes <= len(blob) <= entropy_bytes + len(data) / 8


def test_input_types():
    data = coding.zipf_bytes(5000, seed=1)
    assert decompress(compress(data)) == data.tobytes()
    assert decompress(compress(data[::-1])) == data[::-1].tobytes()
    assert decompress(compress(bytearray(b"abc"))) == b"abc"


def test_stream_api_matches_in_memory():
    data = skewed(250_000, seed=3).tobytes()
    out = io.BytesIO()
    compress_stream(io.BytesIO(data), out, block_size=70_000)
    assert out.getvalue() == compress(data, block_size=70_000)
    back = io.BytesIO()
    assert decompress_stream(io.BytesIO(out.getvalue()), back) == len(data)
    assert back.getvalue() == data


BLOB = compress(b"hello, hello, huffman! " * 50 + bytes(range(256)), block_size=600)
HEADER, BLOCK_HEADER = 12, 12


def first_block_crc_offset():
    return HEADER + 8


@pytest.mark.parametrize("mutate,message", [
    (lambda b: b"XXXX" + b[4:], "wrong magic b'XXXX'"),
    (lambda b: b[:4] + b"\x03" + b[5:], "unsupported container version 3"),
    (lambda b: b[:5] + b"\x01" + b[6:], "reserved bytes must be zero"),
    (lambda b: b[:8] + struct.pack("<I", 0) + b[12:], "block size 0 outside"),
    (lambda b: b + b"\x00", "trailing garbage"),
    (lambda b: b[:-1], "truncated: end record CRC-32"),
    (lambda b: b[:30], "truncated: block 0 code lengths"),
    (lambda b: b[:HEADER + 2], "truncated: block 0 header"),
    (lambda b: b[:5], "truncated: header needs 12 bytes, only 5 left"),
    (lambda b: b[:first_block_crc_offset()] + b"\x00\x00\x00\x00" + b[first_block_crc_offset() + 4:],
     "block 0: CRC-32 mismatch"),
    (lambda b: b[:HEADER] + struct.pack("<I", 601) + b[HEADER + 4:], "block 0: symbol count 601 exceeds"),
    (lambda b: b[:HEADER + 4] + struct.pack("<I", 1) + b[HEADER + 8:], "block 0: 1 payload bits cannot hold"),
    (lambda b: b[:HEADER + BLOCK_HEADER] + b"\x11" * 128 + b[HEADER + BLOCK_HEADER + 128:],
     "block 0: bad code lengths: lengths oversubscribe"),
    (lambda b: b[:HEADER + BLOCK_HEADER] + b"\x00" * 128 + b[HEADER + BLOCK_HEADER + 128:],
     "block 0: the code lengths define no code"),
    (lambda b: b[:-5] + bytes([b[-5] ^ 1]) + b[-4:], "end record: CRC-32 mismatch"),
])
def test_corrupt_blobs_are_rejected_with_a_reason(mutate, message):
    assert decompress(BLOB)  # the unmutated blob is valid
    with pytest.raises(ValueError, match=message):
        decompress(mutate(BLOB))


def test_corruption_in_a_later_block_names_it():
    data = skewed(5000, seed=8).tobytes()
    blob = bytearray(compress(data, block_size=1000))
    # Walk to block 3 and flip a payload byte there.
    offset = HEADER
    for _ in range(3):
        _, nbits, _ = struct.unpack_from("<III", blob, offset)
        offset += BLOCK_HEADER + 128 + (nbits + 7) // 8
    blob[offset + BLOCK_HEADER + 128 + 5] ^= 0x10
    with pytest.raises(ValueError, match="^block 3: "):
        decompress(bytes(blob))


@pytest.mark.parametrize("threads", [True, False])
def test_the_first_bad_block_is_reported(threads, monkeypatch):
    from shouxie.core import huffman
    if not threads:
        monkeypatch.setattr(huffman, "_pool", lambda: None)
    data = skewed(20_000, seed=9).tobytes()
    blob = bytearray(compress(data, block_size=1000))
    assert decompress(bytes(blob)) == data
    offsets, offset = [], HEADER
    for _ in range(20):
        offsets.append(offset)
        _, nbits, _ = struct.unpack_from("<III", blob, offset)
        offset += BLOCK_HEADER + 128 + (nbits + 7) // 8
    blob[offsets[1] + 8] ^= 0xFF              # block 1: CRC-32 mismatch (found by its decode job)
    blob[offsets[6]:offsets[6] + 4] = b"\xff\xff\xff\xff"  # block 6: bad header (found while parsing)
    with pytest.raises(ValueError, match="^block 1: CRC-32 mismatch"):
        decompress(bytes(blob))
    with pytest.raises(ValueError, match="^block 1: CRC-32 mismatch"):
        decompress_stream(io.BytesIO(bytes(blob)), io.BytesIO())


def _round_trip_in_child(queue):
    data = skewed(50_000, seed=4).tobytes()
    queue.put(decompress(compress(data, block_size=5000)) == data)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_works_in_a_forked_child_after_use():
    import multiprocessing
    data = skewed(50_000, seed=4).tobytes()
    assert decompress(compress(data, block_size=5000)) == data  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_round_trip_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0 and queue.get(timeout=5) is True


def test_every_truncation_is_rejected():
    blob = compress(b"abcabcabd" * 20, block_size=64)
    for cut in range(len(blob)):
        with pytest.raises(ValueError, match="truncated"):
            decompress(blob[:cut])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_fuzz_random_blobs(blob):
    for candidate in (blob, b"SXHF\x01\x00\x00\x00" + blob):
        try:
            decompress(candidate)
        except ValueError:
            pass


VALID = [compress(d, block_size=b) for d, b in [
    (b"", 8), (b"q", 8), (b"abracadabra" * 9, 40), (skewed(3000, seed=2).tobytes(), 1024),
    (bytes(range(256)), 100)]]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(VALID))), st.lists(
    st.tuples(st.sampled_from(["flip", "set", "insert", "delete"]), st.integers(0, 10**6),
              st.integers(0, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_valid_blobs(which, edits):
    blob = bytearray(VALID[which])
    original = decompress(bytes(blob))
    for kind, pos, value in edits:
        pos %= len(blob) + (kind == "insert")
        if kind == "flip" and blob:
            blob[pos % len(blob)] ^= 1 << (value % 8)
        elif kind == "set" and blob:
            blob[pos % len(blob)] = value
        elif kind == "insert":
            blob.insert(pos, value)
        elif kind == "delete" and blob:
            del blob[pos % len(blob)]
    try:
        out = decompress(bytes(blob))
    except ValueError:
        return
    assert out == original  # only harmless edits (e.g. padding bits) may pass


# --------------------------------------------------------------------------- ops and command line
def test_ops_are_registered_and_agree_with_references(pm):
    registry = collect_ops(pm)
    for name in ["data.zipf_bytes", "data.file_bytes", "coding.huffman_compress",
                 "coding.huffman_decompress", "coding.entropy", "ref.zlib_huffman_compress",
                 "ref.zlib_huffman_decompress", "ref.bitarray_encode", "ref.bitarray_decode"]:
        assert name in registry
    data = registry.get("data.zipf_bytes")(n=20_000, seed=1)
    np.testing.assert_array_equal(data, coding.zipf_bytes(20_000, seed=1))
    ours = registry.get("coding.huffman_compress")(data=data)
    ref = registry.get("ref.zlib_huffman_compress")(data=data)
    assert set(ours) == set(ref)
    assert ours["entropy"] == ref["entropy"] == registry.get("coding.entropy")(data=data)["entropy"]
    np.testing.assert_array_equal(registry.get("coding.huffman_decompress")(blob=ours["blob"]), data)
    np.testing.assert_array_equal(registry.get("ref.zlib_huffman_decompress")(blob=ref["blob"]), data)


def test_sample_text_ships_with_the_package():
    text = coding.file_bytes()
    assert text.size > 1000 and coding.SAMPLE_TEXT.is_file()
    metrics = coding.huffman_compress(text)
    assert metrics["entropy_ratio"] < metrics["ratio"] < 1


def test_cli_round_trip_and_keeps_output_on_failure(tmp_path, capsys):
    src = tmp_path / "in.bin"
    data = skewed(150_000, seed=6).tobytes()
    src.write_bytes(data)
    packed, unpacked = tmp_path / "out.shx", tmp_path / "back.bin"
    assert main(["huffman", "compress", str(src), str(packed), "--block-size", "40000"]) == 0
    assert packed.read_bytes() == compress(data, block_size=40_000)
    assert main(["huffman", "decompress", str(packed), str(unpacked)]) == 0
    assert unpacked.read_bytes() == data

    corrupt = tmp_path / "corrupt.shx"
    blob = bytearray(packed.read_bytes())
    blob[-40] ^= 0xFF
    corrupt.write_bytes(bytes(blob))
    unpacked.write_bytes(b"keep me")
    assert main(["huffman", "decompress", str(corrupt), str(unpacked)]) == 1
    assert "error:" in capsys.readouterr().err
    assert unpacked.read_bytes() == b"keep me"
    assert main(["huffman", "decompress", str(tmp_path / "missing"), str(unpacked)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.bin", "corrupt.shx", "in.bin", "out.shx"]


def test_cli_pipes_through_stdin_and_stdout():
    data = b"streaming through a pipe " * 1000
    env = {**os.environ, "SHOUXIE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    run = [sys.executable, "-c", "import sys; from shouxie.runner import main; sys.exit(main())"]
    packed = subprocess.run(run + ["huffman", "compress", "-", "-"], input=data, capture_output=True,
                            env=env, check=True).stdout
    assert packed == compress(data)
    back = subprocess.run(run + ["huffman", "decompress", "-", "-"], input=packed, capture_output=True,
                          env=env, check=True).stdout
    assert back == data
    bad = subprocess.run(run + ["huffman", "decompress", "-", "-"], input=b"nope" * 5,
                         capture_output=True, env=env)
    assert bad.returncode == 1 and b"wrong magic" in bad.stderr


def test_cli_progress_bar_on_a_terminal(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(coding, "PROGRESS_MIN_BYTES", 10)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    src = tmp_path / "in.bin"
    src.write_bytes(bytes(5000))
    assert main(["huffman", "compress", str(src), str(tmp_path / "o")]) == 0
    assert "compress" in capsys.readouterr().err
    assert zlib.crc32(decompress((tmp_path / "o").read_bytes())) == zlib.crc32(bytes(5000))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 20), min_size=1, max_size=300), st.binary(max_size=200),
       st.integers(0, 2000), st.booleans())
def test_fuzz_decode_arbitrary_codes_and_bits(lengths, payload, count, uint16):
    if kraft(lengths) > 1 or not any(lengths):
        return
    code = HuffmanCode(np.array(lengths + [0] * (300 if uint16 else 0)))
    nbits = 8 * len(payload) - (count % 8 if payload else 0)
    try:
        out = code.decode(payload, nbits, min(count, nbits))
    except ValueError:
        return
    # Whatever decodes must re-encode to exactly the same bits (padding bits cleared).
    expected = bytearray(payload[: (nbits + 7) // 8])
    if nbits % 8:
        expected[-1] &= (0xFF << (8 - nbits % 8)) & 0xFF
    assert code.encode(out) == (bytes(expected), nbits)

"""Compiled Huffman kernels. Inputs are validated by :mod:`shouxie.core.huffman`.

Bits are packed MSB-first: the first code's first bit is the top bit of the first byte.
"""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memset
from libcpp.vector cimport vector

cdef extern from *:
    """
    #include <string.h>
    static inline void sx_store_be64(unsigned char *p, unsigned long long v) {
        v = __builtin_bswap64(v);
        memcpy(p, &v, 8);
    }
    static inline unsigned long long sx_load_be64(const unsigned char *p) {
        unsigned long long v;
        memcpy(&v, p, 8);
        return __builtin_bswap64(v);
    }
    """
    void store_be64 "sx_store_be64"(uint8_t *p, uint64_t v) noexcept nogil
    uint64_t load_be64 "sx_load_be64"(const uint8_t *p) noexcept nogil

ctypedef fused symbol_t:
    uint8_t
    uint16_t

cdef enum:
    PRIMARY_BITS = 11   # bits indexed by the primary decoding table
    LONG = 0xFF         # primary-table entry of a prefix that starts a longer code
    STATUS_OK = 0       # decode() status: every symbol decoded
    STATUS_INVALID = 1  # decode() status: the bits match no code

PRIMARY = PRIMARY_BITS
INVALID_CODE = STATUS_INVALID


def count_symbols(
    const symbol_t[::1] symbols,   # IN (n,)
    int64_t[::1] counts,           # OUT (alphabet,) zeroed by the caller, len > max(symbols)
):
    """Add each symbol's number of occurrences to ``counts``."""
    cdef Py_ssize_t n = symbols.shape[0], i
    if n == 0:
        return
    if symbol_t is uint16_t:
        with nogil:
            for i in range(n):
                counts[symbols[i]] += 1
    else:
        with nogil:
            _count_bytes(symbols, counts)


cdef void _count_bytes(const uint8_t[::1] symbols, int64_t[::1] counts) noexcept nogil:
    cdef Py_ssize_t n = symbols.shape[0], i, j
    cdef int64_t part[4][256]
    # Four interleaved histograms break the store-to-load dependency on runs of equal bytes.
    memset(part, 0, sizeof(part))
    i = 0
    while i + 4 <= n:
        part[0][symbols[i]] += 1
        part[1][symbols[i + 1]] += 1
        part[2][symbols[i + 2]] += 1
        part[3][symbols[i + 3]] += 1
        i += 4
    while i < n:
        part[0][symbols[i]] += 1
        i += 1
    for j in range(256):
        counts[j] += part[0][j] + part[1][j] + part[2][j] + part[3][j]


def package_merge(
    const int64_t[::1] weights,   # IN (n,) positive, ascending, n >= 2, 2**max_length >= n
    int max_length,               # IN longest allowed code
    uint8_t[::1] lengths,         # OUT (n,) optimal code lengths, <= max_length
):
    """Optimal length-limited code lengths (Larmore-Hirschberg package-merge)."""
    cdef Py_ssize_t n = weights.shape[0], i, a, b, m, k, level, prev_size, size
    cdef vector[int64_t] prev, cur
    cdef vector[vector[uint8_t]] is_leaf   # is_leaf[level][i]: item i of that level's list is a leaf
    cdef int64_t package
    with nogil:
        is_leaf.resize(max_length)
        # The deepest level holds the leaves alone; each level above merges the leaves with the
        # pairwise packages of the level below. Level index 0 is the top (codes of length >= 1).
        prev.assign(&weights[0], &weights[0] + n)
        is_leaf[max_length - 1].assign(n, 1)
        for level in range(max_length - 2, -1, -1):
            prev_size = prev.size()
            cur.clear()
            is_leaf[level].clear()
            a = 0
            b = 0
            while a < n or b + 1 < prev_size:
                if b + 1 < prev_size:
                    package = prev[b] + prev[b + 1]
                if b + 1 >= prev_size or (a < n and weights[a] <= package):
                    cur.push_back(weights[a])
                    is_leaf[level].push_back(1)
                    a += 1
                else:
                    cur.push_back(package)
                    is_leaf[level].push_back(0)
                    b += 2
            prev.swap(cur)
        # Take the 2n - 2 cheapest items of the top list; each package taken at one level takes
        # two items of the level below. A leaf taken at a level adds one bit to its length; the
        # leaves taken at a level are always the lightest ones (the lists are merged in order).
        memset(&lengths[0], 0, n)
        m = 2 * n - 2
        for level in range(max_length):
            k = 0
            for i in range(m):
                k += is_leaf[level][i]
            for i in range(k):
                lengths[i] += 1
            m = 2 * (m - k)


def encode(
    const symbol_t[::1] symbols,   # IN (n,) every symbol has a code
    const uint32_t[::1] codes,     # IN (alphabet,) canonical codes, right-aligned
    const uint8_t[::1] lengths,    # IN (alphabet,) code lengths, 1..32 for used symbols
    int max_length,                # IN the longest code length
    uint8_t[::1] out,              # OUT (ceil(nbits / 8),) exactly the packed size
):
    """Pack the codes of ``symbols`` MSB-first into ``out``; returns the number of bits."""
    cdef Py_ssize_t n = symbols.shape[0], cap = out.shape[0], i = 0, pos = 0, k
    cdef Py_ssize_t per_flush = (64 - 7) // max_length
    cdef uint64_t bitbuf = 0, total = 0
    cdef unsigned int bitcount = 0, length
    cdef symbol_t s
    if n == 0:
        return 0
    with nogil:
        # Fast path: after a flush at most 7 bits are pending, so per_flush codes fit in 64 bits;
        # the flush stores 8 bytes and advances past the completed ones.
        while i + per_flush <= n and pos + 8 <= cap:
            for k in range(per_flush):
                s = symbols[i + k]
                length = lengths[s]
                bitbuf = (bitbuf << length) | codes[s]
                bitcount += length
            i += per_flush
            store_be64(&out[pos], bitbuf << (64 - bitcount))
            total += bitcount & ~7u
            pos += bitcount >> 3
            bitcount &= 7
        # Tail: one code at a time, whole bytes only, never past the end of out.
        while i < n:
            s = symbols[i]
            length = lengths[s]
            if bitcount + length > 56:   # keep the pending bits within bitbuf
                while bitcount >= 8:
                    bitcount -= 8
                    out[pos] = <uint8_t>(bitbuf >> bitcount)
                    pos += 1
                    total += 8
            bitbuf = (bitbuf << length) | codes[s]
            bitcount += length
            i += 1
        while bitcount >= 8:
            bitcount -= 8
            out[pos] = <uint8_t>(bitbuf >> bitcount)
            pos += 1
            total += 8
        if bitcount:
            out[pos] = <uint8_t>(bitbuf << (8 - bitcount))
            total += bitcount
    return total


def build_decode_table(
    const uint8_t[::1] lengths,    # IN (alphabet,) code lengths, 0 = unused
    const uint32_t[::1] codes,     # IN (alphabet,) canonical codes, right-aligned
    uint64_t[::1] table,           # OUT (2**PRIMARY,) entries, see below
):
    """Fill the primary decoding table, indexed by the next PRIMARY bits.

    An entry holds up to two symbols whose codes both lie within those bits: bits 0-15 the
    first symbol, 16-31 the second, 32-39 the bits both use (0: no code starts with these bits;
    LONG: a code longer than PRIMARY bits does), 40-47 how many symbols (1 or 2), 48-55 the
    first symbol's length.
    """
    cdef Py_ssize_t alphabet = lengths.shape[0], s
    cdef uint32_t first, j, length, length2
    cdef uint64_t single, second
    with nogil:
        memset(&table[0], 0, table.shape[0] * sizeof(uint64_t))
        for s in range(alphabet):
            length = lengths[s]
            if length == 0:
                continue
            if length <= PRIMARY_BITS:
                first = codes[s] << (PRIMARY_BITS - length)
                single = <uint64_t>s | (<uint64_t>length << 32) | (1ull << 40) | (<uint64_t>length << 48)
                for j in range(first, first + (1u << (PRIMARY_BITS - length))):
                    table[j] = single
            else:
                table[codes[s] >> (length - PRIMARY_BITS)] = <uint64_t>LONG << 32
        # A second code fits when its own entry, looked up from the bits left over after the
        # first code (zero-filled), is a single code no longer than those left-over bits.
        for j in range(1u << PRIMARY_BITS):
            length = (table[j] >> 32) & 0xFF
            if length == 0 or length == LONG or length == PRIMARY_BITS:
                continue
            second = table[(j << length) & ((1u << PRIMARY_BITS) - 1)]
            length2 = (second >> 48) & 0xFF
            if length2 == 0 or length2 > PRIMARY_BITS - length or ((second >> 32) & 0xFF) == LONG:
                continue
            table[j] = ((table[j] & 0xFFFF) | ((second & 0xFFFF) << 16)
                        | (<uint64_t>(length + length2) << 32) | (2ull << 40)
                        | (<uint64_t>length << 48))


cdef inline int _decode_long(
    uint64_t bitbuf,
    int max_length,
    const uint32_t *first_code,
    const uint32_t *count,
    const uint32_t *offset,
    const uint16_t *sorted_symbols,
    uint32_t *symbol,
) noexcept nogil:
    """Canonical decoding of a code longer than PRIMARY_BITS; returns its length, 0 if invalid."""
    cdef int length
    cdef uint32_t code
    for length in range(PRIMARY_BITS + 1, max_length + 1):
        code = <uint32_t>(bitbuf >> (64 - length))
        if code - first_code[length] < count[length]:
            symbol[0] = sorted_symbols[offset[length] + code - first_code[length]]
            return length
    return 0


def decode(
    const uint8_t[::1] payload,          # IN packed codes (may be empty)
    uint64_t nbits,                      # IN number of meaningful bits in payload
    symbol_t[::1] out,                   # OUT (count,) decoded symbols
    const uint64_t[::1] table,           # IN (2**PRIMARY,) from build_decode_table
    int max_length,                      # IN longest code length, 1..32
    const uint32_t[::1] first_code,      # IN (33,) canonical first code of each length
    const uint32_t[::1] count,           # IN (33,) number of codes of each length
    const uint32_t[::1] offset,          # IN (33,) index into sorted_symbols of each length
    const uint16_t[::1] sorted_symbols,  # IN used symbols sorted by (length, symbol)
):
    """Decode ``len(out)`` symbols; returns ``(status, symbols decoded, bits used)``.

    Never reads outside ``payload``: past its end the reader sees zero bits, and the caller
    compares the bits used with ``nbits``. Runs at most ``len(out)`` table lookups.
    """
    cdef Py_ssize_t n = out.shape[0], end = payload.shape[0], pos = 0, i = 0, k
    cdef Py_ssize_t per_refill = 56 // (max_length if max_length > PRIMARY_BITS else PRIMARY_BITS)
    cdef uint64_t bitbuf = 0, entry
    cdef unsigned int bitcount = 0, length
    cdef uint32_t symbol
    cdef int status = STATUS_OK
    cdef const uint8_t *data = &payload[0] if end else NULL
    with nogil:
        # Fast path: refill to >= 56 bits with one unaligned 8-byte load, then make per_refill
        # lookups of at most max(max_length, PRIMARY) bits and two symbols each.
        while i + 2 * per_refill <= n and pos + 8 <= end:
            bitbuf |= load_be64(data + pos) >> bitcount
            pos += (63 - bitcount) >> 3
            bitcount |= 56
            for k in range(per_refill):
                entry = table[bitbuf >> (64 - PRIMARY_BITS)]
                length = (entry >> 32) & 0xFF
                if length == LONG:
                    length = _decode_long(bitbuf, max_length, &first_code[0], &count[0],
                                          &offset[0], &sorted_symbols[0], &symbol)
                    entry = symbol | (1ull << 40)
                if length == 0:
                    status = STATUS_INVALID
                    break
                out[i] = <symbol_t>(entry & 0xFFFF)
                out[i + 1] = <symbol_t>((entry >> 16) & 0xFFFF)   # overwritten unless a pair
                i += (entry >> 40) & 0xFF
                bitbuf <<= length
                bitcount -= length
            if status != STATUS_OK:
                break
        # Tail: refill byte by byte (past the end of payload the reader sees zero bits); one
        # symbol per lookup so that nothing is written past out.
        while status == STATUS_OK and i < n:
            while bitcount <= 56:
                if pos < end:
                    bitbuf |= <uint64_t>data[pos] << (56 - bitcount)
                pos += 1
                bitcount += 8
            entry = table[bitbuf >> (64 - PRIMARY_BITS)]
            length = (entry >> 48) & 0xFF
            symbol = entry & 0xFFFF
            if ((entry >> 32) & 0xFF) == LONG:
                length = _decode_long(bitbuf, max_length, &first_code[0], &count[0],
                                      &offset[0], &sorted_symbols[0], &symbol)
            if length == 0:
                status = STATUS_INVALID
                break
            out[i] = <symbol_t>symbol
            i += 1
            bitbuf <<= length
            bitcount -= length
    return status, i, <int64_t>pos * 8 - bitcount

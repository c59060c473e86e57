import numpy as np
import numpy.typing as npt

PRIMARY: int
INVALID_CODE: int

def count_symbols(symbols: npt.NDArray[np.unsignedinteger], counts: npt.NDArray[np.int64]) -> None: ...
def package_merge(weights: npt.NDArray[np.int64], max_length: int, lengths: npt.NDArray[np.uint8]) -> None: ...
def encode(
    symbols: npt.NDArray[np.unsignedinteger],
    codes: npt.NDArray[np.uint32],
    lengths: npt.NDArray[np.uint8],
    max_length: int,
    out: npt.NDArray[np.uint8] | memoryview | bytearray,
) -> int: ...
def build_decode_table(
    lengths: npt.NDArray[np.uint8], codes: npt.NDArray[np.uint32], table: npt.NDArray[np.uint64]
) -> None: ...
def decode(
    payload: bytes | memoryview,
    nbits: int,
    out: npt.NDArray[np.unsignedinteger],
    table: npt.NDArray[np.uint64],
    max_length: int,
    first_code: npt.NDArray[np.uint32],
    count: npt.NDArray[np.uint32],
    offset: npt.NDArray[np.uint32],
    sorted_symbols: npt.NDArray[np.uint16],
) -> tuple[int, int, int]: ...

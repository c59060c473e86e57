import numpy as np
import numpy.typing as npt

def median_sliding(
    image: npt.NDArray[np.number], rowmap: npt.NDArray[np.int64], colmap: npt.NDArray[np.int64],
    ksize: int, channels: int, cval: float, bands: int, out: npt.NDArray[np.number],
) -> None: ...
def dense_ranks(
    values: npt.NDArray[np.uint32 | np.uint64], ranks: npt.NDArray[np.uint32],
    distinct: npt.NDArray[np.uint32 | np.uint64], keys_buf: npt.NDArray[np.uint32 | np.uint64],
    index_buf: npt.NDArray[np.uint32],
) -> int: ...
def median_ranks(
    ranks: npt.NDArray[np.uint32], rowmap: npt.NDArray[np.int64], colmap: npt.NDArray[np.int64],
    ksize: int, cval: int, bits: int, total: int, bands: int, out: npt.NDArray[np.uint32],
) -> None: ...

import numpy as np
import numpy.typing as npt

def median_network(
    image: npt.NDArray[np.integer], rowmap: npt.NDArray[np.int64], colmap: npt.NDArray[np.int64],
    ksize: int, channels: int, cval: int, out: npt.NDArray[np.integer],
) -> None: ...
def median_histogram_u8(
    image: npt.NDArray[np.uint8], rowmap: npt.NDArray[np.int64], colmap: npt.NDArray[np.int64],
    ksize: int, channels: int, cval: int, bands: int, out: npt.NDArray[np.uint8],
) -> None: ...
def median_histogram_u16(
    image: npt.NDArray[np.integer], rowmap: npt.NDArray[np.int64], colmap: npt.NDArray[np.int64],
    ksize: int, channels: int, cval: int, bands: int, out: npt.NDArray[np.integer],
) -> None: ...
def median_sorted(
    image: npt.NDArray[np.number], rowmap: npt.NDArray[np.int64], colmap: npt.NDArray[np.int64],
    ksize: int, channels: int, cval: float, bands: int, out: npt.NDArray[np.number],
) -> None: ...

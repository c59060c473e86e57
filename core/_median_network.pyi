import numpy as np
import numpy.typing as npt

NETWORK_SIDES: tuple[int, ...]
ALL_KEYS_MAX_SIDE: int

def median_network(
    image: npt.NDArray[np.integer], rowmap: npt.NDArray[np.int64], colmap: npt.NDArray[np.int64],
    ksize: int, channels: int, cval: int, out: npt.NDArray[np.integer],
) -> bool: ...

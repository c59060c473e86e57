import numpy as np
import numpy.typing as npt

BLOCKS: bool

def resize_rows(
    image: npt.NDArray[np.number], channels: int, xofs0: npt.NDArray[np.int32],
    xofs1: npt.NDArray[np.int32], alpha0: npt.NDArray[np.number], alpha1: npt.NDArray[np.number],
    base: npt.NDArray[np.int32], taps: npt.NDArray[np.uint8], weights: npt.NDArray[np.int16],
    yofs0: npt.NDArray[np.int32], yofs1: npt.NDArray[np.int32], beta0: npt.NDArray[np.number],
    beta1: npt.NDArray[np.number], bands: int, out: npt.NDArray[np.number],
) -> None: ...
def resize_half(
    image: npt.NDArray[np.number], channels: int, half_up: bool, out: npt.NDArray[np.number]
) -> None: ...

import numpy as np
import numpy.typing as npt

def resize_u8(
    image: npt.NDArray[np.uint8], xofs0: npt.NDArray[np.int32], xofs1: npt.NDArray[np.int32],
    alpha0: npt.NDArray[np.int16], alpha1: npt.NDArray[np.int16], yofs0: npt.NDArray[np.int32],
    yofs1: npt.NDArray[np.int32], beta0: npt.NDArray[np.int16], beta1: npt.NDArray[np.int16],
    bands: int, out: npt.NDArray[np.uint8],
) -> None: ...
def resize_float(
    image: npt.NDArray[np.floating], xofs0: npt.NDArray[np.int32], xofs1: npt.NDArray[np.int32],
    alpha0: npt.NDArray[np.floating], alpha1: npt.NDArray[np.floating], yofs0: npt.NDArray[np.int32],
    yofs1: npt.NDArray[np.int32], beta0: npt.NDArray[np.floating], beta1: npt.NDArray[np.floating],
    bands: int, out: npt.NDArray[np.floating],
) -> None: ...
def resize_half(
    image: npt.NDArray[np.number], channels: int, half_up: bool, out: npt.NDArray[np.number]
) -> None: ...

import numpy as np
import numpy.typing as npt

def max_pool2d_forward(
    x: npt.NDArray[np.floating], out: npt.NDArray[np.floating], argmax: npt.NDArray[np.int32],
    kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
) -> None: ...
def max_pool2d_backward(
    dout: npt.NDArray[np.floating], argmax: npt.NDArray[np.int32], dx: npt.NDArray[np.floating],
) -> None: ...

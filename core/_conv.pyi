import numpy as np
import numpy.typing as npt

def im2col(
    x: npt.NDArray[np.floating], col: npt.NDArray[np.floating],
    kh: int, kw: int, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int, ho: int, wo: int,
) -> None: ...
def col2im(
    col: npt.NDArray[np.floating], dx: npt.NDArray[np.floating],
    kh: int, kw: int, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int, ho: int, wo: int,
) -> None: ...

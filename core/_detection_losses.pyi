import numpy as np
import numpy.typing as npt

def sigmoid_focal_loss(
    logits: npt.NDArray[np.floating], targets: npt.NDArray[np.floating], alpha: float, gamma: float,
    gradient: bool, out: npt.NDArray[np.floating],
) -> None: ...

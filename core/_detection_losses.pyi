import numpy as np
import numpy.typing as npt

def sigmoid_focal_loss(
    logits: npt.NDArray[np.floating], targets: npt.NDArray[np.floating], alpha: float, gamma: float,
    loss: npt.NDArray[np.floating], grad: npt.NDArray[np.floating],
) -> float: ...

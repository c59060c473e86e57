import numpy as np
import numpy.typing as npt

QUERY_CHUNK: int
PANEL_BLOCK: int

def pack_panels(
    data: npt.NDArray[np.floating], panels: npt.NDArray[np.float64], norms: npt.NDArray[np.float64]
) -> None: ...
def knn_sq(
    queries: npt.NDArray[np.float64],
    query_norms: npt.NDArray[np.float64],
    panels: npt.NDArray[np.float64],
    data_norms: npt.NDArray[np.float64],
    best_sq: npt.NDArray[np.float64],
    best_idx: npt.NDArray[np.intp],
) -> None: ...
def vote(codes: npt.NDArray[np.intp], out: npt.NDArray[np.intp]) -> None: ...

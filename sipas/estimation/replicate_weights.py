"""Full-sample and replicate weights with their variance multipliers (R survey's ``svrVar``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReplicateWeights:
    """Full-sample and replicate weights with their variance multipliers.

    ``v(theta) = scale * sum_r rscales[r] * (theta_r - centre)^2`` (R survey's ``svrVar``), centre the
    replicate mean (R's default ``mse=FALSE``) or the full-sample estimate (``mse=True``).
    """

    weights: np.ndarray          # (n,)
    replicates: np.ndarray       # (n, R)
    scale: float
    rscales: np.ndarray          # (R,)
    df: float                    # degrees of freedom for t intervals
    kind: str = "JKn"
    mse: bool = False            # centre on the full-sample estimate (True) or the replicate mean (R default)

    def variance(self, full: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """Variance of each row of estimates: ``full`` (k,), replicate estimates ``reps`` (k, R)."""
        centre = full[:, None] if self.mse else np.nanmean(reps, axis=1, keepdims=True)
        return self.scale * np.nansum(self.rscales[None, :] * (reps - centre) ** 2, axis=1)

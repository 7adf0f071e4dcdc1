"""The Wilson score interval: how uncertain an accuracy is, so 52 % on 40 points reads as it should.

Written by hand (a few lines) rather than adding SciPy or statsmodels as a dependency.
"""

from __future__ import annotations

import math

Z95 = 1.959964


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95 % interval of a proportion (sensible at small n and near 0 or 1); None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)

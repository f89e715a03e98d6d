"""scikit-learn's roc_auc_score on the same data as benches/auc.rs.

python auc_sklearn.py [N]   (needs numpy and scikit-learn)
"""
import sys
import time

import numpy as np
from sklearn.metrics import roc_auc_score


def splitmix(i):
    z = (i + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    with np.errstate(over="ignore"):
        z = splitmix(np.arange(n, dtype=np.uint64))
    s = z % np.uint64(10_000)
    scores = s.astype(np.float32) / np.float32(10_000.0)
    labels = ((z >> np.uint64(32)) % np.uint64(10_000) < s).astype(np.float32)
    best, value = float("inf"), None
    for _ in range(3):
        t = time.perf_counter()
        value = roc_auc_score(labels, scores)
        best = min(best, time.perf_counter() - t)
    print(f"scikit-learn roc_auc_score  n={n}  value={value:.12f}  best of 3: {best:.3f} s")


if __name__ == "__main__":
    main()

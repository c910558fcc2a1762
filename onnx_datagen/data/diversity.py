"""How varied a generated set is, so mode collapse shows: feature similarity and the classes the model sees.

Both measures are sums over images, so groups, shards and resumed runs add up to the whole set's
value exactly. With unit-length penultimate features u_i of N images, the mean cosine similarity
over all pairs i != j is (||sum u_i||^2 - N) / (N (N - 1)): 1 when every image looks the same to
the model, lower when they differ. ReLU features are non-negative, so even real images score well
above 0: compare sets, not absolute values. On the embedded digits model (128 images): real digits
0.61 with all 10 classes predicted, generated 0.70 with 10, Gaussian noise 0.93 with 3 (73 % in one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DiversitySums:
    n: int
    feature_sum: np.ndarray | None  # sum of unit-length penultimate features; None without a linear head
    class_counts: np.ndarray | None  # predicted-class histogram; None unless the first output is [N, K]

    def __add__(self, other: DiversitySums) -> DiversitySums:
        def add(a, b):
            return None if a is None or b is None else a + b

        return DiversitySums(
            self.n + other.n, add(self.feature_sum, other.feature_sum), add(self.class_counts, other.class_counts)
        )

    def report(self) -> dict:
        out: dict = {"n_images": self.n, "mean_pairwise_cosine": None}
        if self.feature_sum is not None and self.n > 1:
            squared = float(np.dot(self.feature_sum, self.feature_sum))
            out["mean_pairwise_cosine"] = (squared - self.n) / (self.n * (self.n - 1))
        if self.class_counts is not None:
            counts = [int(c) for c in self.class_counts]
            out["predicted_class_counts"] = counts
            out["classes_predicted"] = sum(1 for c in counts if c)
            out["largest_class_fraction"] = max(counts) / self.n if self.n else None
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"diversity_n": np.asarray(self.n)}
        if self.feature_sum is not None:
            out["diversity_feature_sum"] = self.feature_sum
        if self.class_counts is not None:
            out["diversity_class_counts"] = self.class_counts
        return out

    @classmethod
    def from_arrays(cls, arrays) -> DiversitySums | None:
        if "diversity_n" not in arrays:
            return None
        return cls(
            int(arrays["diversity_n"]), arrays.get("diversity_feature_sum"), arrays.get("diversity_class_counts")
        )


def describe(report: dict) -> str:
    """One line for the end of `generate`."""
    parts = []
    if report.get("mean_pairwise_cosine") is not None:
        parts.append(
            f"mean pairwise cosine of penultimate features {report['mean_pairwise_cosine']:.3f} (1 = all alike)"
        )
    if report.get("predicted_class_counts") is not None:
        total = len(report["predicted_class_counts"])
        parts.append(
            f"the model predicts {report['classes_predicted']} of {total} classes, "
            f"the largest for {report['largest_class_fraction']:.0%} of images"
        )
    return "; ".join(parts)

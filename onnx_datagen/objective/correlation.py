"""DSG's sample correlation inhibition: push a batch's image-similarity spectrum towards that of independent noise.

Gram matrices of the L2-normalised, flattened images of the batch and of a same-shape standard Gaussian batch
(the reference) are eigen-decomposed (eigenvalues ascending); the loss is 1e-4 x the mean squared gap of the
eigenvalues plus |sum_k r_k x -<u_k, v_k>|, with u, v the batch's and the reference's eigenvectors and r the
reference eigenvalues min-max normalised. Eigenvector signs are arbitrary, as in DSG's code.
"""

from __future__ import annotations

import torch

EIGENVALUE_WEIGHT = 1e-4


def _spectrum(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = x.float().reshape(x.shape[0], -1)
    unit = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return torch.linalg.eigh(unit @ unit.T)


def correlation_inhibition(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    values, vectors = _spectrum(x)
    with torch.no_grad():
        ref_values, ref_vectors = _spectrum(reference)
        span = (ref_values.max() - ref_values.min()).clamp_min(1e-12)
        ref_weights = (ref_values - ref_values.min()) / span
    alignment = (ref_weights * -(vectors * ref_vectors).sum(dim=0)).sum().abs()
    return EIGENVALUE_WEIGHT * torch.mean((values - ref_values) ** 2) + alignment

"""ZCA whitening as a data transform (the MTT reference whitens with kornia's ZCAWhitening, eps 0.1).

Fitted on the (normalised) training images, flattened to D = C*H*W features:

    cov = (X - mu)^T (X - mu) / (N - 1) = U diag(S) U^T
    whiten(x)  = (x - mu) U diag((S + eps)^-1/2) U^T
    inverse(z) = z U diag((S + eps)^+1/2) U^T + mu

the same formulas as kornia's ZCAWhitening (unbiased covariance, eps added to the eigenvalues). Written here
with torch.linalg.eigh in float64 because the transform is stored as (mean, U, S, eps) tensors with the
distilled set, half the size of storing both D x D matrices, and a fit must be exactly repeatable to check that
expert trajectories and a distillation run used the same whitening.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import ConfigError

PUBLISHED_EPS = 0.1


@dataclass(frozen=True)
class ZCA:
    """A fitted ZCA transform over D features; tensors float32 except the fit, which is float64."""

    mean: Tensor  # (D,)
    eigvecs: Tensor  # (D, D), columns = eigenvectors U
    eigvals: Tensor  # (D,), eigenvalues S of the covariance
    eps: float = PUBLISHED_EPS

    @classmethod
    def fit(cls, images: Tensor, eps: float = PUBLISHED_EPS, chunk: int = 8192) -> ZCA:
        """Fit on N x C x H x W images (accumulated in float64 chunks, so large sets fit in memory)."""
        if eps <= 0:
            raise ConfigError(f"ZCA eps must be positive, got {eps}")
        if images.dim() != 4 or images.shape[0] < 2:
            raise ConfigError(f"ZCA needs at least 2 images of shape N x C x H x W, got {tuple(images.shape)}")
        x = images.reshape(images.shape[0], -1)
        n, d = x.shape
        mean = x.double().mean(0)
        cov = torch.zeros(d, d, dtype=torch.float64)
        for s in range(0, n, chunk):
            xc = x[s:s + chunk].double() - mean
            cov += xc.T @ xc
        cov /= n - 1
        eigvals, eigvecs = torch.linalg.eigh(cov)
        return cls(mean.float(), eigvecs.float(), eigvals.clamp_min(0).float(), float(eps))

    def _matrix(self, power: float) -> Tensor:
        scale = (self.eigvals.double() + self.eps) ** power
        u = self.eigvecs.double()
        return ((u * scale) @ u.T).float()

    def transform(self, images: Tensor) -> Tensor:
        """Whiten N x C x H x W images (same shape out)."""
        self._check(images)
        x = images.reshape(images.shape[0], -1).float() - self.mean.to(images.device)
        return (x @ self._matrix(-0.5).to(images.device)).reshape(images.shape).to(images.dtype)

    def inverse(self, images: Tensor) -> Tensor:
        """Undo `transform` (for viewing and exporting images)."""
        self._check(images)
        x = images.reshape(images.shape[0], -1).float() @ self._matrix(0.5).to(images.device)
        return (x + self.mean.to(images.device)).reshape(images.shape).to(images.dtype)

    def _check(self, images: Tensor) -> None:
        d = images[0].numel() if images.shape[0] else 0
        if d != self.mean.numel():
            raise ConfigError(f"ZCA was fitted on {self.mean.numel()} features per image but these images have "
                              f"{d}; use the transform fitted on this dataset")

    def to_tensors(self) -> dict[str, Tensor]:
        """Tensors for a safetensors file (see from_tensors)."""
        return {"mean": self.mean, "eigvecs": self.eigvecs, "eigvals": self.eigvals,
                "eps": torch.tensor([self.eps], dtype=torch.float64)}

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor]) -> ZCA:
        """Inverse of to_tensors; a one-line error when a tensor is missing."""
        missing = sorted({"mean", "eigvecs", "eigvals", "eps"} - set(tensors))
        if missing:
            raise ConfigError(f"incomplete ZCA transform: missing {', '.join(missing)}")
        return cls(tensors["mean"].float(), tensors["eigvecs"].float(), tensors["eigvals"].float(),
                   float(tensors["eps"].reshape(-1)[0]))

    def fingerprint(self) -> str:
        """A short hash of the transform (to check two fits are the same transform)."""
        h = hashlib.sha256()
        for t in (self.mean, self.eigvals):
            h.update(t.contiguous().numpy().round(4).tobytes())
        h.update(repr(self.eps).encode())
        return h.hexdigest()[:16]


def zca_inverse(images: Tensor, tensors: dict[str, Tensor]) -> Tensor:
    """Inverse-whiten images with a transform stored as tensors (a SyntheticSet's `zca` field)."""
    return ZCA.from_tensors(tensors).inverse(images)


def zca_transform(images: Tensor, tensors: dict[str, Tensor]) -> Tensor:
    """Whiten images with a transform stored as tensors."""
    return ZCA.from_tensors(tensors).transform(images)

"""Measuring first-layer filters: how edge-like is a filter?

An edge or bar detector is a filter whose spatial pattern has one orientation; a colour blob or
random noise has none. :func:`orientation_selectivity` turns that into a number between 0 and 1
from the filter's 2-D power spectrum: the length of the mean of ``exp(2 i theta)`` over
frequencies ``(fx, fy)`` at angle ``theta``, weighted by power (the DC term excluded, colour
channels summed). A pure grating scores 1; isotropic noise scores close to 0.
"""

from __future__ import annotations

import torch

__all__ = [
    "hand_designed_bank",
    "isotropic_null",
    "orientation_selectivity",
    "oriented_share",
    "preferred_orientation",
    "spectrum",
]


def spectrum(weights: torch.Tensor, grid: int = 16) -> torch.Tensor:
    """Power spectrum of each filter, summed over input channels, DC removed.

    ``weights``: (out_channels, in_channels, k, k). Returns (out_channels, grid, grid) with zero
    frequency at the centre: ``grid`` is the side of the FFT, to which the filters are
    zero-padded for a finer sampling of their spectrum.
    """
    if weights.dim() != 4:
        raise ValueError(
            f"expected conv weights of shape (out, in, k, k), got {tuple(weights.shape)}."
        )
    w = weights.detach().float().cpu()
    w = w - w.mean(dim=(-2, -1), keepdim=True)  # remove each channel's DC
    k = w.shape[-1]
    if grid < k:
        raise ValueError(f"grid ({grid}) must be at least the kernel size ({k}).")
    power = torch.fft.fft2(w, s=(grid, grid)).abs().square().sum(dim=1)
    return torch.fft.fftshift(power, dim=(-2, -1))


def _angles(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    f = torch.fft.fftshift(torch.fft.fftfreq(n))
    fy, fx = torch.meshgrid(f, f, indexing="ij")
    return torch.atan2(fy, fx), (fx.square() + fy.square()).sqrt()


def _orientation_vector(weights: torch.Tensor, grid: int) -> torch.Tensor:
    p = spectrum(weights, grid)
    theta, radius = _angles(grid)
    p = p * (radius > 0)
    z = (p * torch.exp(2j * theta)).sum(dim=(-2, -1))
    return z / p.sum(dim=(-2, -1)).clamp_min(1e-12)


def orientation_selectivity(weights: torch.Tensor, grid: int = 16) -> torch.Tensor:
    """Orientation selectivity index of each filter, in [0, 1] (higher = more edge-like)."""
    return _orientation_vector(weights, grid).abs()


def preferred_orientation(weights: torch.Tensor, grid: int = 16) -> torch.Tensor:
    """Orientation, in degrees in [0, 180), of the edges each filter responds to most.

    This is the angle of the edge in the image (perpendicular to the frequency vector).
    """
    freq_angle = torch.angle(_orientation_vector(weights, grid)) / 2
    return (torch.rad2deg(freq_angle) + 90.0) % 180.0


def isotropic_null(
    weights: torch.Tensor, samples: int = 20, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random filters as smooth and as colourful as ``weights``, but with no orientation.

    For each filter and each input channel, the power spectrum (on the filter's own k x k
    frequency grid) is averaged over rings of equal frequency; ``samples`` random filters are
    drawn with that ring-averaged spectrum and random phases (white noise shaped in the Fourier
    domain). They keep each filter's smoothness (how its power spreads over frequencies) and its
    per-channel energy, but any orientation they show is chance: the null distribution for
    :func:`orientation_selectivity`. Returns (out * samples, in, k, k), filter-major.
    """
    if weights.dim() != 4:
        raise ValueError(
            f"expected conv weights of shape (out, in, k, k), got {tuple(weights.shape)}."
        )
    w = weights.detach().float().cpu()
    out, cin, k, _ = w.shape
    f = torch.fft.fftfreq(k)
    fy, fx = torch.meshgrid(f, f, indexing="ij")
    ring = torch.round((fx.square() + fy.square()).sqrt() * k * 2).long().flatten()  # half-steps
    rings = int(ring.max()) + 1
    counts = torch.bincount(ring, minlength=rings).float()
    power = torch.fft.fft2(w).abs().square().flatten(-2)  # (out, in, k*k)
    mean_power = torch.zeros(out, cin, rings).index_add_(-1, ring, power) / counts
    amplitude = mean_power[..., ring].sqrt().view(out, cin, k, k)
    noise = torch.randn(out, samples, cin, k, k, generator=generator)
    shaped = torch.fft.ifft2(torch.fft.fft2(noise) * amplitude[:, None]).real
    # white noise of unit variance has expected power k*k at every frequency: undo that
    return (shaped / k).reshape(out * samples, cin, k, k)


def oriented_share(weights: torch.Tensor, samples: int = 20, seed: int = 0) -> float:
    """Share of filters more oriented than chance: above the 95th percentile of the
    :func:`orientation_selectivity` of their :func:`isotropic_null` (``samples`` draws per
    filter, seeded). Random filters score about 0.05."""
    null = isotropic_null(weights, samples, generator=torch.Generator().manual_seed(seed))
    threshold = orientation_selectivity(null).quantile(0.95)
    return (orientation_selectivity(weights) > threshold).float().mean().item()


def hand_designed_bank(
    size: int = 5, orientations: int = 4, wavelength: float = 4.0
) -> torch.Tensor:
    """A classic hand-designed first layer: two Sobel filters and a bank of Gabor filters.

    Returns (2 + 2 * ``orientations``, 1, ``size``, ``size``) weights for a grey-scale
    :class:`~torch.nn.Conv2d`: horizontal and vertical Sobel derivatives (zero-padded to
    ``size``), then for each of ``orientations`` angles an even (cosine) and an odd (sine) Gabor
    filter of the given ``wavelength`` in pixels. Each filter has zero mean and unit norm.
    """
    if size < 3 or size % 2 == 0:
        raise ValueError(f"size must be an odd number of at least 3 pixels, got {size}.")
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    pad = (size - 3) // 2
    bank = [torch.nn.functional.pad(k, (pad, pad, pad, pad)) for k in (sobel, sobel.T)]
    r = torch.arange(size, dtype=torch.float32) - size // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    envelope = torch.exp(-(xx**2 + yy**2) / (2 * (size / 4) ** 2))
    for i in range(orientations):
        theta = torch.pi * i / orientations
        u = xx * torch.cos(torch.tensor(theta)) + yy * torch.sin(torch.tensor(theta))
        phase = 2 * torch.pi * u / wavelength
        bank += [envelope * torch.cos(phase), envelope * torch.sin(phase)]
    w = torch.stack(bank)
    w = w - w.mean(dim=(1, 2), keepdim=True)
    w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1)
    return w.unsqueeze(1)

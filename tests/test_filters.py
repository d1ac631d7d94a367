import math

import pytest
import torch

from layerwise import filters


def grating(angle_deg, k=7, period=4.0):
    """A sinusoidal grating whose stripes (edges) run at ``angle_deg``."""
    y, x = torch.meshgrid(torch.arange(k) - k // 2, torch.arange(k) - k // 2, indexing="ij")
    theta = math.radians(angle_deg + 90)  # the wave travels perpendicular to the stripes
    wave = torch.cos(2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / period)
    return wave.float().expand(3, k, k)


def test_gratings_are_selective_and_noise_is_not():
    bank = torch.stack([grating(a) for a in (0, 45, 90, 135)])
    assert filters.orientation_selectivity(bank).min() > 0.6
    torch.manual_seed(0)
    noise = torch.randn(200, 3, 7, 7)
    assert filters.orientation_selectivity(noise).median() < 0.25


def test_preferred_orientation_is_the_edge_angle():
    bank = torch.stack([grating(a, k=9) for a in (0, 45, 90, 135)])
    got = filters.preferred_orientation(bank)
    for value, expected in zip(got.tolist(), (0, 45, 90, 135), strict=True):
        assert min(abs(value - expected), 180 - abs(value - expected)) < 8


def test_a_flat_colour_blob_is_not_oriented():
    blob = torch.zeros(1, 3, 7, 7)
    blob[0, 0] = 1.0  # pure red, no spatial structure
    assert filters.orientation_selectivity(blob).item() < 1e-6


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="expected conv weights"):
        filters.spectrum(torch.zeros(3, 7, 7))
    with pytest.raises(ValueError, match=r"grid \(8\) must be at least the kernel size \(9\)"):
        filters.spectrum(torch.zeros(1, 1, 9, 9), grid=8)


def test_isotropic_null_keeps_smoothness_and_loses_orientation():
    torch.manual_seed(0)
    bank = torch.stack([grating(a, period=5.0) for a in (0, 45, 90, 135)])
    null = filters.isotropic_null(bank, samples=50, generator=torch.Generator().manual_seed(1))
    assert null.shape == (200, 3, 7, 7)
    # the same energy on average, and the same mix of low and high frequencies
    assert math.isclose(
        null.square().sum((1, 2, 3)).mean(), bank.square().sum((1, 2, 3)).mean(), rel_tol=0.2
    )
    low = filters.spectrum(bank)[:, 6:11, 6:11].sum() / filters.spectrum(bank).sum()
    low_null = filters.spectrum(null)[:, 6:11, 6:11].sum() / filters.spectrum(null).sum()
    assert abs(low - low_null) < 0.15
    # gratings are oriented; their null is far less so
    assert (
        filters.orientation_selectivity(null).median()
        < 0.5
        < filters.orientation_selectivity(bank).min()
    )
    with pytest.raises(ValueError, match="expected conv weights"):
        filters.isotropic_null(torch.zeros(3, 7, 7))


def test_oriented_share_is_about_five_percent_for_noise_and_high_for_gratings():
    torch.manual_seed(0)
    noise = torch.randn(400, 3, 7, 7)
    assert 0.0 < filters.oriented_share(noise) < 0.12
    bank = torch.stack([grating(a, period=5.0) for a in (0, 30, 60, 90, 120, 150)])
    assert filters.oriented_share(bank) == 1.0

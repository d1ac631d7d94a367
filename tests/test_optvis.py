import copy

import pytest
import torch

from layerwise import features, models, optvis


@pytest.fixture
def model():
    torch.manual_seed(0)
    return models.CNNConfig(in_channels=3, num_classes=4, widths=(8, 8),
                            kernel_sizes=(5, 3), strides=(2, 1)).build().eval()  # fmt: skip


def _activation(model, images, layer, c):
    return features.extract(model, images, [layer])[layer][:, c].mean().item()


@pytest.mark.parametrize("regularised", [False, True])
def test_render_increases_the_target_activation(model, regularised):
    g = torch.Generator().manual_seed(1)
    if regularised:
        image = optvis.fourier_image((1, 3, 32, 32), generator=g)
        transform = optvis.compose([optvis.pad(2), optvis.jitter(2),
                                    optvis.random_scale([0.9, 1.1]),
                                    optvis.random_rotate([-10, 10])])  # fmt: skip
    else:
        image, transform = optvis.pixel_image((1, 3, 32, 32), generator=g), None
    start = _activation(model, image().detach(), "relu2", 3)
    result = optvis.render(
        model, optvis.channel("relu2", 3), image, transform=transform, steps=40, lr=0.05
    )
    assert result.images.shape == (1, 3, 32, 32)
    assert 0 <= result.images.min() and result.images.max() <= 1
    reached = _activation(model, result.images, "relu2", 3)
    assert reached == pytest.approx(result.value, rel=1e-4)
    assert reached > 1.25 * start
    # The target channel gains more than the layer's other channels on average.
    others = [_activation(model, result.images, "relu2", c) for c in range(8) if c != 3]
    assert reached > sum(others) / len(others)


def test_render_is_reproducible_with_a_seed(model):
    def run(seed):
        image = optvis.fourier_image((2, 3, 24, 24), generator=torch.Generator().manual_seed(seed))
        objective = optvis.channel("relu1", 0, batch=0) + optvis.neuron("relu2", 1, batch=1)
        transform = optvis.compose([optvis.jitter(3), optvis.random_rotate(range(-20, 21))])
        return optvis.render(model, objective, image, transform=transform, steps=15, seed=seed)

    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a.images, b.images) and a.history == b.history
    assert not torch.allclose(a.images, c.images)


def test_objectives_combine():
    outputs = {"a": torch.arange(8.0).view(2, 1, 2, 2), "b": torch.ones(2, 2, 3, 3)}
    assert optvis.channel("a", 0)(outputs).item() == pytest.approx(3.5)
    assert optvis.channel("a", 0, batch=1)(outputs).item() == pytest.approx(5.5)
    assert optvis.neuron("a", 0, y=0, x=1, batch=0)(outputs).item() == 1.0
    combined = 2 * optvis.channel("a", 0) + -optvis.channel("b", 1)
    assert combined.layers == ("a", "b")
    assert combined(outputs).item() == pytest.approx(2 * 3.5 - 1)


def test_fourier_image_starts_grey_and_smooth():
    g = torch.Generator().manual_seed(0)
    pixels = optvis.fourier_image((1, 3, 32, 32), sd=0.5, generator=g)()
    noise = optvis.pixel_image((1, 3, 32, 32), sd=0.5, generator=g)()

    def roughness(img):  # mean squared difference of neighbouring pixels relative to variance
        return (img.diff(dim=-1).square().mean() / img.var()).item()

    flat = optvis.fourier_image((1, 3, 32, 32), sd=0.5, decay_power=0.0, generator=g)()
    # White noise has roughness 2; a 1/f spectrum puts its energy in low frequencies.
    assert roughness(pixels) < 0.75 * roughness(noise)
    assert roughness(pixels) < 0.75 * roughness(flat)


def test_bad_arguments_are_reported(model):
    with pytest.raises(ValueError, match="shape must be"):
        optvis.pixel_image((3, 32, 32))
    with pytest.raises(ValueError, match="decorrelate needs 3 colour channels"):
        optvis.pixel_image((1, 1, 8, 8), decorrelate=True)()
    with pytest.raises(ValueError, match="'conv9' not in the model"):
        optvis.render(model, optvis.channel("conv9", 0), steps=1)


class _Tail(torch.nn.Module):
    """A layer that must not run: it records that it was called."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x


def test_render_stops_the_forward_pass_at_the_objective_and_gives_the_same_result(model):
    tail = _Tail()
    calls = []
    # Count calls on real tensors (symbolic tracing also passes through, with proxies).
    tail.register_forward_hook(
        lambda _m, inputs, _out: calls.append(1) if isinstance(inputs[0], torch.Tensor) else None
    )
    net = torch.nn.Sequential(model, tail)  # layers "0.relu2" etc., then "1"

    def run(network, prefix):
        image = optvis.fourier_image((2, 3, 24, 24), generator=torch.Generator().manual_seed(0))
        objective = optvis.channel(f"{prefix}relu1", 0, batch=0) + optvis.channel(
            f"{prefix}relu2", 1, batch=1
        )
        return optvis.render(network, objective, image, transform=optvis.jitter(2), steps=6)

    stopped = run(net, "0.")
    assert calls == []  # the layer after the objective's never ran
    alone = run(model, "")  # the same network without the extra layer
    assert torch.equal(stopped.images, alone.images) and stopped.history == alone.history


def test_cached_render_is_computed_once_per_key_weights_and_code(model, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERWISE_CACHE", str(tmp_path))
    calls = []

    def compute(net, seed):
        calls.append(seed)
        image = optvis.fourier_image((1, 3, 16, 16), generator=torch.Generator().manual_seed(seed))
        return optvis.render(net, optvis.channel("relu1", 0), image, steps=3, seed=seed)

    key = {"layer": "relu1", "channels": [0], "size": 16, "steps": 3, "seed": 0}
    first = optvis.cached(key, lambda: compute(model, 0), model=model)
    again = optvis.cached(key, lambda: compute(model, 0), model=model)
    assert calls == [0]  # the second call loaded the stored render
    assert torch.equal(first.images, again.images)
    assert first.value == again.value and first.history == again.history
    assert len(list((tmp_path / "renders").glob("render-*.pt"))) == 1

    # Another key, other weights, or other code: computed again.
    optvis.cached(key | {"seed": 1}, lambda: compute(model, 1), model=model)
    assert calls == [0, 1]
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.conv1.weight.add_(0.01)
    optvis.cached(key, lambda: compute(other, 0), model=other)
    assert calls == [0, 1, 0]
    monkeypatch.setattr(optvis, "_code_fingerprint", lambda m: "edited")
    optvis.cached(key, lambda: compute(model, 0), model=model)
    assert calls == [0, 1, 0, 0]

    with pytest.raises(TypeError, match="JSON"):
        optvis.cached({"transform": optvis.jitter(2)}, lambda: compute(model, 0), model=model)

import pytest
import torch

from layerwise import data, models, neurons, train


@pytest.fixture
def cloned():
    torch.manual_seed(0)
    model = models.MLPConfig(in_features=64, hidden=(6,), num_classes=10).build()
    return neurons.clone_units(model, "fc1", "out")


def test_cloned_units_receive_identical_gradients(cloned):
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))
    torch.nn.functional.cross_entropy(cloned(x), y).backward()
    grad = cloned.fc1.weight.grad
    assert grad.abs().sum() > 0
    assert torch.allclose(grad, grad[:1].expand_as(grad), atol=1e-7)
    assert torch.allclose(cloned.fc1.bias.grad, cloned.fc1.bias.grad[:1].expand(6), atol=1e-7)
    out_grad = cloned.out.weight.grad
    assert torch.allclose(out_grad, out_grad[:, :1].expand_as(out_grad), atol=1e-7)


def test_random_units_receive_different_gradients():
    torch.manual_seed(0)
    model = models.MLPConfig(in_features=64, hidden=(6,), num_classes=10).build()
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    grad = model.fc1.weight.grad
    assert not torch.allclose(grad, grad[:1].expand_as(grad), atol=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_cloned_units_stay_clones_through_training(cloned, optimizer):
    digits = data.digits()
    config = cloned.config
    result = train.fit(
        config,
        digits,
        train.Schedule(epochs=3, batch_size=64, optimizer=optimizer, lr=0.05),
        seed=0,
        init_state=cloned.state_dict(),
        verbose=False,
    )
    w = result.model.fc1.weight.detach()
    assert not torch.equal(w, cloned.fc1.weight)  # it did train
    assert (w - w[:1]).abs().max() < 1e-5
    sim = neurons.unit_similarity(w)
    assert torch.allclose(sim, torch.ones_like(sim), atol=1e-6)


def test_clone_units_rejects_layers_that_do_not_connect():
    model = models.MLPConfig(in_features=64, hidden=(6, 5), num_classes=10).build()
    with pytest.raises(ValueError, match="does not take"):
        neurons.clone_units(model, "fc1", "out")
    with pytest.raises(ValueError, match="not a dense"):
        neurons.clone_units(model, "act1", "fc2")


def test_unit_similarity_is_cosine():
    w = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    sim = neurons.unit_similarity(w)
    assert sim[0, 1] == pytest.approx(0.0)
    assert sim[0, 2] == pytest.approx(2**-0.5)
    assert torch.allclose(sim.diagonal(), torch.ones(3, dtype=sim.dtype))


def test_match_units_recovers_a_permutation_of_channels():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 6, 4, 4, generator=g)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    b = 2.5 * a[:, perm] + 1.0  # same units, shuffled, scaled and shifted
    match = neurons.match_units(a, b)
    assert torch.allclose(match.best, torch.ones(6, dtype=match.best.dtype))
    assert torch.allclose(match.one_to_one, torch.ones(6, dtype=match.best.dtype))
    # unit i of a is unit j of b where perm[j] == i
    expected = torch.argsort(perm)
    assert torch.equal(match.pairs[:, 1], expected)


def test_match_units_of_a_rotated_layer_finds_no_partner():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 8, generator=g)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    # A generic rotation: the same information, spread over all units.
    match = neurons.match_units(a, a @ q)
    assert match.best.max() < 0.9


def test_unit_correlations_shapes_and_errors():
    assert neurons.unit_correlations(torch.randn(10, 3), torch.randn(10, 5)).shape == (3, 5)
    with pytest.raises(ValueError, match="activations of the same inputs"):
        neurons.unit_correlations(torch.randn(10, 3), torch.randn(9, 3))

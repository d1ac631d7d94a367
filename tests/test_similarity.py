import numpy as np
import pytest
import torch

from layerwise import similarity


@pytest.fixture
def reference_pair():
    """The inputs of the public demo notebook of Kornblith et al. (2019)."""
    np.random.seed(1337)  # noqa: NPY002 - the reference draws from the legacy generator
    x = np.random.randn(100, 10)  # noqa: NPY002
    y = np.random.randn(100, 10) + x  # noqa: NPY002
    return x, y


@pytest.fixture
def sign_task():
    """Make a probing task: ``n`` random two-channel sequences labelled by the sign of channel
    0's mean, split after ``n_train``, and a model of one convolution called ``name`` (built
    after the data are drawn, from the same seed). Returns the model, the train and test
    inputs, and the labels as :func:`~layerwise.similarity.probe_layers` takes them."""
    from torch import nn

    def make(n, n_train, name, out_channels, kernel_size):
        torch.manual_seed(0)
        x = torch.randn(n, 2, 8)
        y = (x[:, 0].mean(1) > 0).long()
        model = nn.Sequential()
        model.add_module(name, nn.Conv1d(2, out_channels, kernel_size))
        return model, x[:n_train], x[n_train:], {"sign": (y[:n_train], y[n_train:])}

    return make


def test_cka_matches_the_reference_implementation(reference_pair):
    x, y = reference_pair
    assert similarity.cka(x, y) == pytest.approx(0.55761, abs=5e-5)
    assert similarity.cka(x, y, kernel="rbf", threshold=0.5) == pytest.approx(0.65483, abs=5e-5)
    assert similarity.cka(x, y, debiased=True) == pytest.approx(0.51346, abs=5e-5)


def test_cka_is_invariant_to_rotation_and_isotropic_scaling(reference_pair):
    x, y = reference_pair
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((10, 10)))
    base = similarity.cka(x, y)
    assert similarity.cka(x @ q, y) == pytest.approx(base, abs=1e-9)
    assert similarity.cka(3.7 * x, y) == pytest.approx(base, abs=1e-9)
    assert similarity.cka(x, x @ q * 0.1) == pytest.approx(1.0, abs=1e-9)


def test_cka_is_not_invariant_to_anisotropic_scaling(reference_pair):
    x, y = reference_pair
    stretched = x * np.array([10.0] + [1.0] * 9)
    assert abs(similarity.cka(stretched, y) - similarity.cka(x, y)) > 0.01


def test_cka_of_unrelated_representations_is_small():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((500, 20)), rng.standard_normal((500, 20))
    assert similarity.cka(x, y) < 0.1
    assert abs(similarity.cka(x, y, debiased=True)) < 0.02


def test_cka_accepts_feature_maps_and_checks_shapes():
    x = torch.randn(30, 4, 5, 5)
    assert similarity.cka(x, x) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="must match"):
        similarity.cka(torch.randn(30, 4), torch.randn(31, 4))
    with pytest.raises(ValueError, match="kernel"):
        similarity.cka(x, x, kernel="poly")


def test_probe_recovers_a_planted_linear_signal():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((50, 3))
    x_train, x_test = rng.standard_normal((600, 50)), rng.standard_normal((300, 50))
    result = similarity.linear_probe(
        x_train, (x_train @ w).argmax(1), x_test, (x_test @ w).argmax(1)
    )
    assert result.test_accuracy > 0.9


def test_the_probe_loss_and_its_gradient_are_what_autograd_computes():
    from layerwise.similarity import _logistic_loss

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 6, generator=g), torch.randint(0, 4, (40,), generator=g)
    weight = torch.randn(6, 4, generator=g, requires_grad=True)
    bias = torch.randn(4, generator=g, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(x @ weight + bias, y) + 0.3 * weight.square().sum()
    loss.backward()
    ours = _logistic_loss(x, torch.nn.functional.one_hot(y, 4).float(), weight, bias, 0.3)
    torch.testing.assert_close(ours[0], loss.detach())
    torch.testing.assert_close(ours[1], weight.grad)
    torch.testing.assert_close(ours[2], bias.grad)


def test_probe_fails_on_shuffled_labels():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((50, 3))
    x_train, x_test = rng.standard_normal((600, 50)), rng.standard_normal((300, 50))
    labels = rng.permutation((x_train @ w).argmax(1))
    result = similarity.linear_probe(x_train, labels, x_test, (x_test @ w).argmax(1))
    assert result.test_accuracy < result.chance + 0.1
    assert result.train_accuracy > result.test_accuracy  # it memorised, it did not generalise


def test_pooled_brings_every_layer_to_the_same_grid():
    from layerwise.similarity import pooled

    assert pooled(torch.ones(2, 3, 16, 12), 4).shape == (2, 3, 4, 4)
    assert pooled(torch.ones(2, 3, 2, 2), 4).shape == (2, 3, 2, 2)
    assert pooled(torch.ones(2, 3, 40), 4).shape == (2, 3, 4)
    assert pooled(torch.ones(2, 5), 4).shape == (2, 5)


def test_probe_layers_reads_a_label_that_one_layer_carries_and_another_does_not():
    from torch import nn

    from layerwise.similarity import probe_layers

    torch.manual_seed(0)
    x = torch.randn(400, 2, 8)
    y = (x[:, 0].mean(1) > 0).long()  # readable from channel 0, not from channel 1
    model = nn.Sequential()
    model.add_module("keep", nn.Conv1d(2, 1, 1, bias=False))
    model.add_module("drop", nn.Conv1d(1, 1, 1, bias=False))
    with torch.no_grad():
        model.keep.weight.copy_(torch.tensor([[[1.0], [0.0]]]))  # passes channel 0 on
        model.drop.weight.zero_()  # passes nothing on
    rows = probe_layers(model, x[:300], x[300:], ["input", "keep"], {"sign": (y[:300], y[300:])})
    table = {(r.layer, r.label): r for r in rows}
    assert [r.layer for r in rows] == ["input", "keep"]
    assert table["keep", "sign"].test_accuracy > 0.9
    assert table["input", "sign"].test_accuracy > 0.9
    zero = probe_layers(model, x[:300], x[300:], ["drop"], {"sign": (y[:300], y[300:])})[0]
    assert zero.test_accuracy < 0.75  # a constant layer carries nothing


def test_probe_layers_leaves_out_inputs_labelled_minus_one():
    from torch import nn

    from layerwise.similarity import probe_layers

    torch.manual_seed(0)
    x = torch.randn(400, 2, 8)
    y = (x[:, 0].mean(1) > 0).long()
    noisy = y.clone()
    noisy[::2] = 1 - noisy[::2]  # every other label is wrong ...
    masked = noisy.clone()
    masked[::2] = -1  # ... and left out here
    model = nn.Sequential()
    model.add_module("keep", nn.Conv1d(2, 2, 1))
    labels = {"noisy": (noisy[:300], noisy[300:]), "masked": (masked[:300], masked[300:])}
    table = {r.label: r for r in probe_layers(model, x[:300], x[300:], ["input"], labels)}
    assert table["masked"].test_accuracy > 0.9
    assert table["noisy"].test_accuracy < 0.7


def test_ridge_probe_reads_a_linear_label_and_not_noise():
    from layerwise.similarity import ridge_probe

    torch.manual_seed(0)
    x = torch.randn(600, 10)
    w = torch.randn(10, 3)
    y = (x @ w).argmax(1)
    good = ridge_probe(x[:400], y[:400], x[400:], y[400:])
    assert good.test_accuracy > 0.85
    noise = ridge_probe(torch.randn(400, 10), y[:400], torch.randn(200, 10), y[400:])
    assert noise.test_accuracy < 0.5


def test_probe_layers_ridge_solver_agrees_with_logistic(sign_task):
    from layerwise.similarity import probe_layers

    model, x_train, x_test, labels = sign_task(400, 300, "keep", 2, 1)
    ridge = probe_layers(model, x_train, x_test, ["input"], labels, solver="ridge")[0]
    logistic = probe_layers(model, x_train, x_test, ["input"], labels)[0]
    assert ridge.test_accuracy > 0.9
    assert abs(ridge.test_accuracy - logistic.test_accuracy) < 0.05
    with pytest.raises(ValueError, match="solver"):
        probe_layers(model, x_train, x_test, ["input"], labels, solver="svm")


def test_ridge_probe_with_more_features_than_rows_matches_the_primal_solution():
    from layerwise.similarity import _Ridge

    g = torch.Generator().manual_seed(0)
    x = torch.randn(90, 200, generator=g, dtype=torch.float64)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    ridge = _Ridge(x[:60], x[60:], alpha=0.1)
    assert ridge.dual
    result = ridge.result(y[:60], y[60:])
    # The primal system, solved directly on the same standardised features.
    xtr, xte = ridge.xtr, ridge.xte
    targets = torch.nn.functional.one_hot(y[:60], 3).double()
    offset = targets.mean(0)
    gram = xtr.T @ xtr + 0.1 * 60 * torch.eye(200, dtype=torch.float64)
    weight = torch.linalg.solve(gram, xtr.T @ (targets - offset))
    expected = ((xte @ weight + offset).argmax(1) == y[60:]).double().mean().item()
    assert result.test_accuracy == pytest.approx(expected)
    assert result.train_accuracy == pytest.approx(1.0)


def test_cka_matrix_equals_pairwise_cka():
    from layerwise.similarity import cka, cka_matrix

    g = torch.Generator().manual_seed(1)
    xs = [torch.randn(40, k, generator=g) for k in (3, 20)]
    ys = [xs[0] @ torch.randn(3, 5, generator=g), torch.randn(40, 2, 4, generator=g)]
    for debiased in (False, True):
        m = cka_matrix(xs, ys, debiased=debiased)
        assert m.shape == (2, 2)
        for i, x in enumerate(xs):
            for j, y in enumerate(ys):
                assert m[i, j] == pytest.approx(cka(x, y, debiased=debiased))
    with pytest.raises(ValueError, match="same number of inputs"):
        cka_matrix(xs, [torch.randn(30, 3)])


def test_probe_layers_does_not_depend_on_the_batch_size(sign_task):
    from layerwise.similarity import probe_layers

    model, x_train, x_test, labels = sign_task(120, 80, "conv", 4, 3)
    rows = [
        probe_layers(model, x_train, x_test, ["conv"], labels, solver="ridge", batch_size=b)[0]
        for b in (7, 1024)
    ]
    assert rows[0] == rows[1]

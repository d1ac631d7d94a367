import numpy as np
import pytest
import torch

from layerwise import parity


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_truth_table_lists_every_input_once_with_its_parity(n):
    x, y = parity.truth_table(n)
    assert x.shape == (2**n, n)
    assert len({tuple(row) for row in x.int().tolist()}) == 2**n
    for row, label in zip(x.int().tolist(), y.tolist(), strict=True):
        assert label == sum(row) % 2
    xs, ys = parity.truth_table(n, signed=True)
    assert set(xs.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal((xs > 0).float(), x) and torch.equal(ys, y)


def test_xor_is_the_two_bit_table():
    x, y = parity.truth_table(2)
    assert {tuple(r): v for r, v in zip(x.int().tolist(), y.tolist(), strict=True)} == {
        (0, 0): 0,
        (1, 0): 1,
        (0, 1): 1,
        (1, 1): 0,
    }


@pytest.mark.parametrize("n", range(2, 10))
def test_both_circuits_compute_parity(n):
    x, y = parity.truth_table(n)
    for circuit in (parity.xor_tree(n), parity.dnf(n)):
        assert np.array_equal(circuit(x.numpy()), y.numpy())


def test_circuit_sizes_and_depths():
    for n in range(2, 13):
        tree, flat = parity.xor_tree(n), parity.dnf(n)
        assert flat.depth == 2 and flat.size == 2 ** (n - 1) + 1
        assert tree.depth == 2 * int(np.ceil(np.log2(n)))
        assert tree.size <= 6 * (n - 1) + 1


def test_a_wrong_circuit_is_caught():
    x, y = parity.truth_table(3)
    gates = parity.dnf(3).gates
    op, inputs = gates[-1]
    broken = parity.Circuit(3, (*gates[:-1], (op, inputs[1:])))  # an odd pattern left out
    assert not np.array_equal(broken(x.numpy()), y.numpy())


@pytest.mark.parametrize("n", [1, 2, 7, 12])
def test_threshold_network_computes_parity_with_n_hidden_units(n):
    x, y = parity.truth_table(n)
    net = parity.threshold_network(n)
    assert net[0].out_features == n
    assert torch.equal((net(x).squeeze(1) > 0).long(), y)


def test_train_parity_solves_xor_and_reports_steps():
    run = parity.train_parity(2, [(1, 1), (8, 1)], seeds=(0, 1, 2), steps=400, lr=0.05)
    assert run.accuracy.shape == (2, 3)
    # One hidden unit cannot compute XOR (not linearly separable): never 100 %.
    assert not run.solved[0].any()
    assert run.solved[1].all()
    assert ((run.steps[1] > 0) & (run.steps[1] < 400)).all()
    assert (run.steps[0] == -1).all()


def test_train_parity_is_deterministic_and_independent_of_batching():
    a = parity.train_parity(3, [(3, 2)], seeds=(1,), steps=200, cache=False)
    b = parity.train_parity(3, [(6, 2), (3, 2), (5, 1)], seeds=(0, 1, 2), steps=200, cache=False)
    assert torch.equal(a.accuracy[0], b.accuracy[1, 1:2])
    assert torch.equal(a.steps[0], b.steps[1, 1:2])
    c = parity.train_parity(3, [(3, 2)], seeds=(1,), steps=200, cache=False)
    assert torch.equal(a.accuracy, c.accuracy) and torch.equal(a.steps, c.steps)


def _alone(n, width, depth, seed, steps, lr):
    """The same network trained alone, as a plain nn.Sequential with torch.optim.Adam."""
    masked = parity._MaskedMLP(n, width, depth, width, depth, seed, "relu")
    layers, fan_in = [], n
    for k in range(depth):
        lin = torch.nn.Linear(fan_in, width)
        with torch.no_grad():
            lin.weight.copy_(masked.weights[k].T)
            lin.bias.copy_(masked.biases[k][0])
        layers += [lin, torch.nn.ReLU()]
        fan_in = width
    out = torch.nn.Linear(width, 1)
    with torch.no_grad():
        out.weight.copy_(masked.w_out.T)
        out.bias.copy_(masked.b_out[0])
    net = torch.nn.Sequential(*layers, out)
    x, y = parity.truth_table(n, signed=True)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    best, first = 0.0, -1
    for step in range(1, steps + 1):
        logits = net(x).squeeze(1)
        acc = ((logits > 0).long() == y).double().mean().item()
        best = max(best, acc)
        if acc == 1.0:
            first = step - 1
            break
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return best, first


def test_each_batched_network_trains_as_it_would_alone():
    run = parity.train_parity(
        3, [(2, 1), (6, 1), (3, 2)], seeds=(0, 1, 2), steps=300, lr=0.05, cache=False
    )
    for i, (w, d) in enumerate([(2, 1), (6, 1), (3, 2)]):
        for j, s in enumerate((0, 1, 2)):
            best, first = _alone(3, w, d, s, 300, 0.05)
            assert run.steps[i, j].item() == first
            assert run.accuracy[i, j].item() == pytest.approx(best)
    assert run.solved.any() and not run.solved.all()  # the comparison covers both outcomes


def test_train_parity_caches_each_network(monkeypatch):
    first = parity.train_parity(3, [(4, 1), (3, 2)], seeds=(0, 1), steps=100)
    trained = []
    real = parity._train_batched

    def spy(n, jobs, *args):
        trained.extend(jobs)
        return real(n, jobs, *args)

    monkeypatch.setattr(parity, "_train_batched", spy)
    again = parity.train_parity(3, [(4, 1), (3, 2)], seeds=(0, 1), steps=100)
    assert trained == []
    assert torch.equal(first.steps, again.steps) and torch.equal(first.accuracy, again.accuracy)
    more = parity.train_parity(3, [(4, 1)], seeds=(0, 1, 2), steps=100)
    assert trained == [(4, 1, 2)]
    assert torch.equal(more.steps[0, :2], first.steps[0])


def test_parameter_count_and_matched_width():
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Linear(7, 7), torch.nn.Linear(7, 1))
    assert parity.parameter_count(5, 7, 2) == sum(p.numel() for p in net.parameters())
    for n in range(2, 11):
        w = parity.matched_width(n, n, 3)
        deep = parity.parameter_count(n, n, 3)
        assert abs(parity.parameter_count(n, w, 1) - deep) <= (n + 2) / 2
    with pytest.raises(ValueError, match="must be positive; got 3, 0, 1"):
        parity.parameter_count(3, 0, 1)


def test_train_parity_rejects_bad_architectures():
    with pytest.raises(ValueError, match="at least one \\(width, depth\\) pair"):
        parity.train_parity(3, [(0, 1)])
    with pytest.raises(ValueError, match="activation must be one of relu, tanh, got 'gelu'"):
        parity.train_parity(3, [(2, 1)], activation="gelu")


def test_training_says_on_the_terminal_what_it_trained(monkeypatch, capfd):
    """Inside a site build, one progress line per batch of networks (one batch per depth)."""
    monkeypatch.setenv("LAYERWISE_PROGRESS", "1")
    monkeypatch.setenv("LAYERWISE_PAGE", "plot_parity")
    parity.train_parity(2, [(2, 1), (3, 1), (2, 2)], seeds=(0,), steps=5, cache=False)
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("layerwise")]
    assert [line.split(" in ")[0] for line in lines] == [
        "layerwise: plot_parity: trained 2 networks together (2-bit parity, depth 1)",
        "layerwise: plot_parity: trained 1 network together (2-bit parity, depth 2)",
    ]
    assert all(line.endswith(" s") for line in lines)

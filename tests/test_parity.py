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
    run = parity.train_parity(2, [(1, 1), (8, 1)], seeds=(0, 1, 2), steps=1500, lr=0.05)
    assert run.accuracy.shape == (2, 3)
    # One hidden unit cannot compute XOR (not linearly separable): never 100 %.
    assert not run.solved[0].any()
    assert run.solved[1].all()
    assert ((run.steps[1] > 0) & (run.steps[1] < 1500)).all()
    assert (run.steps[0] == -1).all()


def test_train_parity_is_deterministic_and_independent_of_batching():
    a = parity.train_parity(3, [(3, 2)], seeds=(0, 1), steps=200)
    b = parity.train_parity(3, [(3, 2), (5, 1)], seeds=(0, 1), steps=200)
    assert torch.equal(a.accuracy[0], b.accuracy[0])
    assert torch.equal(a.steps[0], b.steps[0])


def test_train_parity_rejects_bad_architectures():
    with pytest.raises(ValueError):
        parity.train_parity(3, [(0, 1)])
    with pytest.raises(ValueError):
        parity.train_parity(3, [(2, 1)], activation="gelu")

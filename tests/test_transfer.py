import pytest
import torch

from layerwise import data, models, runtime, train, transfer

CONFIG = models.CNNConfig(in_channels=1, widths=(6, 8, 8), pools=(True, True, False))
SCHEDULE = train.Schedule(epochs=2, batch_size=64, lr=1e-2)


@pytest.fixture(scope="module")
def halves():
    digits = data.digits()
    return digits.select_classes(range(5)), digits.select_classes([9, 8, 7, 6, 5])


@pytest.fixture(scope="module")
def source(halves):
    cfg = models.CNNConfig(**{**vars(CONFIG), "num_classes": 5})
    return train.fit(cfg, halves[0], SCHEDULE, seed=0, cache=False, verbose=False).model


def test_select_classes_keeps_and_relabels(halves):
    digits = data.digits()
    a, b = halves
    assert a.classes == ("0", "1", "2", "3", "4") and b.classes == ("9", "8", "7", "6", "5")
    assert len(a.y_train) + len(b.y_train) == len(digits.y_train)
    assert set(b.y_test.tolist()) == set(range(5))
    # Every kept image is unchanged and its new label names its old class.
    nines = digits.x_train[digits.y_train == 9]
    assert torch.equal(b.x_train[b.y_train == 0], nines)
    assert a.fingerprint != b.fingerprint
    with pytest.raises(ValueError, match="no class 'ten'"):
        digits.select_classes(["ten"])
    with pytest.raises(ValueError, match="distinct"):
        digits.select_classes([1, 1])


def test_block_layers_names_conv_blocks():
    assert transfer.block_layers(CONFIG, 2) == ("conv1", "bn1", "conv2", "bn2")
    assert transfer.block_layers(CONFIG, 0) == ()
    no_bn = models.CNNConfig(widths=(4, 4), batchnorm=False)
    assert transfer.block_layers(no_bn.build(), 2) == ("conv1", "conv2")
    with pytest.raises(ValueError, match="0..3"):
        transfer.block_layers(CONFIG, 4)
    with pytest.raises(TypeError, match="CNNConfig"):
        transfer.block_layers(models.MLPConfig(), 1)


def test_copied_blocks_are_bit_identical_and_independent(source):
    copied = transfer.copy_blocks(source, 2)
    prefixes = ("conv1.", "bn1.", "conv2.", "bn2.")
    expected = {k for k in source.state_dict() if k.startswith(prefixes)}
    assert set(copied) == expected and "bn2.running_mean" in copied
    for k, v in copied.items():
        assert torch.equal(v, source.state_dict()[k])
    target = CONFIG.build()
    target.load_state_dict(copied, strict=False)
    assert torch.equal(target.conv2.weight, source.conv2.weight)
    assert not torch.equal(target.conv3.weight, source.conv3.weight)
    copied["conv1.weight"].add_(1.0)  # a copy, not a view of the source
    assert not torch.equal(copied["conv1.weight"], source.conv1.weight)


def test_frozen_blocks_do_not_change_and_the_rest_trains(source, halves):
    result = transfer.fit_transfer(CONFIG, source, halves[1], 2, SCHEDULE, fine_tune=False)
    model, src = result.model.cpu().state_dict(), source.cpu().state_dict()
    for k in transfer.copy_blocks(source, 2):  # weights and batch-norm statistics
        assert torch.equal(model[k], src[k]), k
    runtime.seed_everything(0)  # fit_transfer's default seed: the new layers' initial weights
    start = models.CNNConfig(**{**vars(CONFIG), "num_classes": 5}).build().state_dict()
    for k in ("conv3.weight", "fc.weight"):
        assert not torch.equal(model[k], start[k]), k
    assert result.test_accuracy > 0.5  # 5 classes: chance is 0.2


def test_fine_tuned_blocks_change(source, halves):
    tuned = transfer.fit_transfer(CONFIG, source, halves[1], 2, SCHEDULE, fine_tune=True).model
    for name in ("conv1.weight", "conv2.weight", "bn1.running_mean"):
        assert not torch.equal(tuned.state_dict()[name].cpu(), source.state_dict()[name]), name


def test_layer_transfer_table():
    digits = data.digits().subset(400)
    halves = digits.select_classes(range(5)), digits.select_classes(range(5, 10))
    rows = transfer.layer_transfer(CONFIG, *halves, SCHEDULE, seeds=(0, 1), cuts=(1, 3))
    assert len(rows) == 2 * (1 + 2 * 4)
    assert {(r.variant, r.n) for r in rows} == {("base", 0)} | {
        (v, n) for v in transfer.VARIANTS for n in (1, 3)
    }
    assert all(0.0 <= r.accuracy <= 1.0 for r in rows)
    runs = transfer.runs(rows)
    accs = [r.accuracy for r in rows if (r.variant, r.n) == ("AnB", 3)]
    assert runs[("AnB", 3)].values == tuple(accs) and runs[("AnB", 3)].seeds == (0, 1)
    # The base networks are cached: a second run with AnB only retrains nothing for B's base.
    again = transfer.layer_transfer(
        CONFIG, *halves, SCHEDULE, seeds=(0,), cuts=(3,), variants=("AnB",)
    )
    assert again[0] == rows[0] and again[1] == next(
        r for r in rows if (r.variant, r.n, r.seed) == ("AnB", 3, 0)
    )
    with pytest.raises(ValueError, match="unknown variants"):
        transfer.layer_transfer(CONFIG, *halves, SCHEDULE, variants=("CnB",))


def test_base_a_and_base_b_start_from_different_weights():
    assert transfer.base_seed("A", 3) != transfer.base_seed("B", 3)
    cfg = models.CNNConfig(**{**vars(CONFIG), "num_classes": 5})
    a, b = (train.initial_state(cfg, transfer.base_seed(h, 0)) for h in "AB")
    assert not torch.equal(a["conv1.weight"], b["conv1.weight"])
    with pytest.raises(ValueError, match="half"):
        transfer.base_seed("C", 0)


def test_layer_transfer_uses_its_schedules_and_per_seed_data():
    # Two seeds, so that they train together (train.fit_seeds), each under the key, and with
    # the result, that fit_bases and fit_transfer find for it alone.
    digits = data.digits().subset(400)
    a, b = digits.select_classes(range(5)), digits.select_classes(range(5, 10))
    slow = train.Schedule(epochs=2, batch_size=64, lr=1e-3)
    rows = transfer.layer_transfer(
        CONFIG,
        a,
        lambda seed: b.subset(50, seed=seed),
        SCHEDULE,
        fine_tune=slow,
        seeds=(0, 1),
        cuts=(2,),
        variants=("AnB+",),
    )
    assert [(r.variant, r.seed) for r in rows] == [
        ("base", 0),
        ("AnB+", 0),
        ("base", 1),
        ("AnB+", 1),
    ]
    for seed, (base_row, tuned_row) in zip((0, 1), (rows[:2], rows[2:]), strict=True):
        labelled = b.subset(50, seed=seed)
        base_a, base_b = transfer.fit_bases(CONFIG, a, labelled, SCHEDULE, seed=seed)
        assert base_a.from_cache and base_b.from_cache
        assert base_row.accuracy == base_b.test_accuracy
        tuned = transfer.fit_transfer(
            CONFIG,
            base_a.model,
            labelled,
            2,
            slow,
            fine_tune=True,
            seed=seed + transfer.SEED_OFFSET,
        )
        assert tuned.from_cache and tuned_row.accuracy == tuned.test_accuracy


def test_fit_transfers_trains_the_seeds_as_fit_transfer_would(source, halves):
    seeds, sets = [3, 4], [halves[1].subset(60, seed=s) for s in (3, 4)]
    together = transfer.fit_transfers(
        CONFIG, source, sets, 2, SCHEDULE, fine_tune=False, seeds=seeds, verbose=False
    )
    for s, d, result in zip(seeds, sets, together, strict=True):
        alone = transfer.fit_transfer(CONFIG, source, d, 2, SCHEDULE, fine_tune=False, seed=s)
        assert alone.from_cache and alone.key == result.key  # trained once, together
        assert torch.equal(result.model.conv2.weight.cpu(), source.conv2.weight.cpu())
    assert not torch.equal(together[0].model.fc.weight, together[1].model.fc.weight)


def test_transfer_works_on_1d_networks():
    cfg = models.CNN1dConfig(widths=(4, 4, 4))
    assert transfer.block_layers(cfg, 2) == ("conv1", "bn1", "conv2", "bn2")

import inspect

import pytest
import torch

from layerwise import data, models, train

CONFIG = models.CNNConfig(in_channels=1, num_classes=10, widths=(8, 16), kernel_sizes=(3, 3))
SCHEDULE = train.Schedule(epochs=4, batch_size=32, lr=2e-2)


@pytest.fixture(scope="module")
def digits():
    return data.digits().subset(400, seed=0)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_training_reduces_the_loss_and_learns(digits):
    result = train.fit(CONFIG, digits, SCHEDULE, cache=False, verbose=False)
    loss = result.history["train_loss"]
    assert len(loss) == 4 and loss[-1] < 0.5 * loss[0]
    assert result.test_accuracy > 0.5  # 10 classes: chance is 0.1


def test_training_is_reproducible_with_a_seed(digits):
    a = train.fit(CONFIG, digits, SCHEDULE, seed=1, cache=False, verbose=False)
    b = train.fit(CONFIG, digits, SCHEDULE, seed=1, cache=False, verbose=False)
    c = train.fit(CONFIG, digits, SCHEDULE, seed=2, cache=False, verbose=False)
    assert a.history == b.history
    assert all(torch.equal(v, weights(b.model)[k]) for k, v in weights(a.model).items())
    assert not torch.equal(a.model.conv1.weight, c.model.conv1.weight)


def test_cache_hits_and_misses(digits, capsys):
    first = train.fit(CONFIG, digits, SCHEDULE)
    second = train.fit(CONFIG, digits, SCHEDULE)
    assert not first.from_cache and second.from_cache
    assert second.key == first.key and second.history == first.history
    assert torch.equal(first.model.conv1.weight, second.model.conv1.weight)
    assert "loaded from the model cache" in capsys.readouterr().out

    wider = models.CNNConfig(in_channels=1, num_classes=10, widths=(8, 24), kernel_sizes=(3, 3))
    assert not train.fit(wider, digits, SCHEDULE, verbose=False).from_cache
    longer = train.Schedule(epochs=5, batch_size=32, lr=2e-2)
    assert not train.fit(CONFIG, digits, longer, verbose=False).from_cache
    assert not train.fit(CONFIG, digits.subset(300), SCHEDULE, verbose=False).from_cache
    assert not train.fit(CONFIG, digits, SCHEDULE, seed=9, verbose=False).from_cache


def test_a_corrupt_cache_entry_is_retrained(digits):
    first = train.fit(CONFIG, digits, SCHEDULE, verbose=False)
    path = train.cache_dir() / f"{first.key}.pt"
    path.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="unreadable.*retraining"):
        again = train.fit(CONFIG, digits, SCHEDULE, verbose=False)
    assert not again.from_cache
    assert torch.equal(again.model.conv1.weight, first.model.conv1.weight)
    assert train.fit(CONFIG, digits, SCHEDULE, verbose=False).from_cache


def test_cache_files_hold_plain_tensors(digits):
    result = train.fit(CONFIG, digits, SCHEDULE, verbose=False)
    entry = torch.load(train.cache_dir() / f"{result.key}.pt", weights_only=True)
    assert set(entry) == {"format", "state_dict", "history"}


def test_frozen_layers_do_not_move_and_the_rest_does(digits):
    torch.manual_seed(0)
    start = CONFIG.build().state_dict()
    result = train.fit(CONFIG, digits, SCHEDULE, init_state=start, freeze=("conv1", "bn1"),
                       cache=False, verbose=False)  # fmt: skip
    end = result.model.state_dict()
    for name in ("conv1.weight", "conv1.bias", "bn1.weight", "bn1.running_mean"):
        assert torch.equal(end[name], start[name]), name
    assert not torch.equal(end["conv2.weight"], start["conv2.weight"])
    with pytest.raises(ValueError, match="cannot freeze 'conv9'"):
        train.fit(CONFIG, digits, SCHEDULE, freeze=("conv9",), cache=False)


def test_bad_training_options_are_rejected():
    with pytest.raises(ValueError, match="unknown augmentations"):
        train.Schedule(augment="rotate")
    with pytest.raises(ValueError, match="optimizer"):
        train.Schedule(optimizer="lion")


def test_color_augmentation_makes_colour_an_unreliable_cue():
    """Images whose class is their brightness alone (-0.3 or +0.3): without augmentation the
    training set is learnt perfectly; the random per-image gains and offsets of "color" (offsets
    of standard deviation 0.4) cross the two classes in about a quarter of the images, so no
    network can fit more than about 0.77 of them."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (512,), generator=g)
    x = (y.float() * 0.6 - 0.3)[:, None, None, None] + 0.05 * torch.randn(
        512, 1, 8, 8, generator=g
    )
    one = torch.ones(1)
    ds = data.Dataset("brightness", x[:384], y[:384], x[384:], y[384:], ("-", "+"), 0 * one, one)
    config = models.CNNConfig(in_channels=1, num_classes=2, widths=(4,), kernel_sizes=(3,))
    accuracy = {}
    for augment in (None, "color"):
        schedule = train.Schedule(epochs=6, batch_size=32, lr=1e-2, augment=augment)
        result = train.fit(config, ds, schedule, cache=False, verbose=False)
        accuracy[augment] = max(result.history["train_acc"])
    assert accuracy[None] > 0.95 and accuracy["color"] < 0.85, accuracy


def test_test_accuracy_is_measured_a_bounded_number_of_times_ending_with_the_last_epoch():
    assert train.test_epochs(3) == {3}
    assert train.test_epochs(3, evaluations=10) == {1, 2, 3}
    assert train.test_epochs(300, evaluations=10) == set(range(30, 301, 30))
    assert train.test_epochs(15, evaluations=4) == {4, 8, 11, 15}
    assert max(train.test_epochs(7)) == 7


def test_evaluation_passes_about_a_million_input_numbers_at_a_time():
    model = models.CNNConfig(in_channels=3, num_classes=4, widths=(8,)).build()
    x, y = torch.randn(1000, 3, 32, 32), torch.randint(0, 4, (1000,))
    batches = []
    model.register_forward_hook(lambda module, args, out: batches.append(len(args[0])))
    loss, accuracy = train.evaluate(model.train(), x, y)
    assert batches == [341, 341, 318]  # 341 x 3 x 32 x 32 numbers <= 2**20
    assert model.training  # handed back in the mode it came in
    whole = train.evaluate(model, x, y, batch_size=len(y))
    assert batches[3:] == [1000]
    assert (loss, accuracy) == pytest.approx(whole, rel=1e-5)


def test_history_records_which_epochs_were_tested(digits):
    schedule = train.Schedule(epochs=12, batch_size=256)
    result = train.fit(CONFIG, digits, schedule, verbose=False)
    assert len(result.history["train_acc"]) == 12
    assert result.history["test_epoch"] == sorted(train.test_epochs(12))
    assert len(result.history["test_acc"]) == len(result.history["test_epoch"])
    cached = train.fit(CONFIG, digits, schedule, verbose=False)
    assert cached.from_cache and cached.history == result.history
    assert all(isinstance(e, int) for e in cached.history["test_epoch"])


def test_the_code_fingerprint_covers_subpackages_of_the_training_code_only(tmp_path):
    """A model's key changes with the code that trains it, module or package, and not with the
    code of a dataset: the data count through their own fingerprint (their tensors)."""
    import shutil
    from pathlib import Path

    library = tmp_path / "layerwise"
    shutil.copytree(Path(train.__file__).parent, library)
    assert train._code_fingerprint(library) == train._code_fingerprint()
    for package in ("models", "data"):  # both as packages, the way a split would leave them
        (library / package).mkdir(exist_ok=True)
        if (library / f"{package}.py").exists():
            (library / f"{package}.py").rename(library / package / "__init__.py")
    (library / "models" / "mlp.py").write_text("WIDTH = 64\n")
    (library / "data" / "sounds.py").write_text("RATE = 4000\n")
    before = train._code_fingerprint(library)

    (library / "data" / "sounds.py").write_text("RATE = 8000\n")
    assert train._code_fingerprint(library) == before
    (library / "models" / "mlp.py").write_text("WIDTH = 128\n")
    assert train._code_fingerprint(library) != before


def test_a_models_key_changes_with_its_own_data_only(digits):
    """Editing one dataset's generator retrains the models trained on it, and no other."""
    device = torch.device("cpu")
    key = train._cache_key(CONFIG, digits, SCHEDULE, 0, None, (), device)
    same = data.Dataset(**{**vars(digits), "_fingerprint": None})
    assert train._cache_key(CONFIG, same, SCHEDULE, 0, None, (), device) == key
    changed = data.Dataset(
        **{**vars(digits), "x_train": digits.x_train + 1e-3, "_fingerprint": None}
    )
    assert train._cache_key(CONFIG, changed, SCHEDULE, 0, None, (), device) != key


@pytest.mark.parametrize(
    ("config", "device", "expected"),
    [
        (models.CNNConfig(in_channels=3, num_classes=4, widths=(32, 64)), "cpu", "channels_last"),
        (models.CNNConfig(in_channels=1, num_classes=4, widths=(8, 12)), "cpu", "contiguous"),
        (models.CNNConfig(in_channels=3, num_classes=4, widths=(32, 64)), "cuda", "contiguous"),
        (models.CNN1dConfig(widths=(16, 16)), "cpu", "contiguous"),
        (models.MLPConfig(in_features=16, hidden=(8,), num_classes=4), "cpu", "contiguous"),
    ],
)
def test_only_2d_cnns_with_whole_channel_blocks_train_channels_last_on_the_cpu(
    config, device, expected
):
    layout = train.memory_format(config.build(), device)
    assert layout is getattr(torch, f"{expected}_format" if expected == "contiguous" else expected)


def test_training_channels_last_computes_what_the_default_layout_does(digits, monkeypatch):
    config = models.CNNConfig(in_channels=1, num_classes=10, widths=(8, 16))
    one_step = train.Schedule(epochs=1, batch_size=len(digits.y_train))
    results = {}
    for layout in (torch.channels_last, torch.contiguous_format):
        monkeypatch.setattr(train, "memory_format", lambda model, device, layout=layout: layout)
        results[layout] = train.fit(config, digits, one_step, cache=False, verbose=False)
    fast, default = results[torch.channels_last], results[torch.contiguous_format]
    for name, w in fast.model.state_dict().items():
        assert w.is_contiguous(), name  # handed back in the layout every page expects
        torch.testing.assert_close(w, default.model.state_dict()[name], rtol=1e-4, atol=1e-5)
    assert fast.history["train_loss"] == pytest.approx(default.history["train_loss"], rel=1e-5)


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_the_fused_update_is_the_optimisers_update_to_rounding(optimizer):
    schedule = train.Schedule(optimizer=optimizer, lr=1e-2, lr_schedule="constant")
    fused_model, loop_model = CONFIG.build(), CONFIG.build()
    loop_model.load_state_dict(fused_model.state_dict())
    fused, _ = train._optimizer(fused_model, schedule, steps=5)
    assert all(group["fused"] for group in fused.param_groups)
    accepted = set(inspect.signature(type(fused)).parameters) - {"fused", "foreach"}
    settings = {k: v for k, v in fused.defaults.items() if k in accepted}
    loop = type(fused)(loop_model.parameters(), **settings, foreach=False)  # one tensor at a time
    start = weights(fused_model)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        for a, b in zip(fused_model.parameters(), loop_model.parameters(), strict=True):
            a.grad = torch.randn(a.shape, generator=g)
            b.grad = a.grad.clone()
        fused.step()
        loop.step()
    for (name, a), b in zip(fused_model.named_parameters(), loop_model.parameters(), strict=True):
        assert not torch.equal(a, start[name]), name
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)


def test_without_a_fused_kernel_the_usual_update_is_used(monkeypatch):
    class NoFusedKernel(torch.optim.AdamW):
        def __init__(self, params, fused=None, **settings):
            if fused:
                raise RuntimeError("`fused=True` requires all the params to be on cuda, cpu")
            super().__init__(params, **settings)

    monkeypatch.setattr(torch.optim, "AdamW", NoFusedKernel)
    opt, _ = train._optimizer(CONFIG.build(), train.Schedule(lr=0.01), steps=5)
    assert isinstance(opt, NoFusedKernel) and not opt.defaults["fused"]
    assert (opt.defaults["lr"], opt.defaults["weight_decay"]) == (0.01, 5e-4)  # the schedule's


MLP = models.MLPConfig(in_features=64, hidden=(16,), num_classes=10)


def test_seeds_trained_together_match_each_seed_trained_alone(digits):
    schedule = train.Schedule(epochs=3, batch_size=32, lr=1e-2, augment="flip")
    alone = [train.fit(MLP, digits, schedule, seed=s, cache=False, verbose=False) for s in (0, 1)]
    together = train.fit_seeds(MLP, digits, schedule, seeds=[0, 1], cache=False, verbose=False)
    for a, b in zip(alone, together, strict=True):
        assert not b.from_cache
        assert b.history["test_epoch"] == a.history["test_epoch"]
        assert b.history["train_loss"] == pytest.approx(a.history["train_loss"], rel=1e-4)
        for name, w in a.model.state_dict().items():
            torch.testing.assert_close(b.model.state_dict()[name], w, rtol=1e-4, atol=1e-5)
    # Different seeds stay different networks inside the batch.
    assert not torch.equal(together[0].model.fc1.weight, together[1].model.fc1.weight)


def test_seeds_trained_together_are_cached_one_by_one_under_fits_own_keys(digits):
    schedule = train.Schedule(epochs=2, batch_size=64)
    together = train.fit_seeds(MLP, digits, schedule, seeds=[3, 4], verbose=False)
    for s, result in zip((3, 4), together, strict=True):
        again = train.fit(MLP, digits, schedule, seed=s, verbose=False)
        assert again.from_cache and again.key == result.key
        assert again.history == result.history
        assert torch.equal(again.model.fc1.weight, result.model.fc1.weight)


def test_networks_whose_only_buffers_are_batch_norm_statistics_can_train_together():
    assert train.batchable(MLP.build())
    assert train.batchable(CONFIG.build())  # running statistics are stacked like the weights
    assert not train.batchable(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()))
    other = torch.nn.Linear(2, 2)
    other.register_buffer("mask", torch.ones(2))
    assert not train.batchable(other)


def test_seeds_with_their_own_data_initial_weights_and_frozen_layers_train_together(digits):
    source = train.fit(CONFIG, digits, SCHEDULE, seed=9, cache=False, verbose=False).model
    init = {k: v for k, v in source.state_dict().items() if k.startswith(("conv1.", "bn1."))}
    schedule = train.Schedule(epochs=2, batch_size=32, lr=1e-2, augment="flip")
    seeds, sets, freeze = [0, 1], [digits.subset(96, seed=s) for s in (0, 1)], ("conv1", "bn1")
    opts = dict(freeze=freeze, cache=False, verbose=False)
    alone = [
        train.fit(CONFIG, d, schedule, seed=s, init_state=init, **opts)
        for s, d in zip(seeds, sets, strict=True)
    ]
    together = train.fit_seeds(
        CONFIG, sets, schedule, seeds, init_states=[init, init], together=True, **opts
    )
    # A convolution's bias ahead of batch normalisation gets only rounding noise for a gradient
    # (the normalisation takes the mean out again), which Adam scales up to full steps: it and
    # the running mean wander with the rounding, alone or together. The rest agrees.
    wander = ("conv1.bias", "conv2.bias", "bn1.running_mean", "bn2.running_mean")
    for a, b in zip(alone, together, strict=True):
        assert b.key == a.key and b.history["test_epoch"] == a.history["test_epoch"]
        assert b.history["train_loss"] == pytest.approx(a.history["train_loss"], rel=1e-4)
        for name, w in a.model.state_dict().items():
            if name not in wander:
                torch.testing.assert_close(b.model.state_dict()[name], w, rtol=1e-4, atol=1e-5)
        # The frozen block keeps its weights and its batch-norm statistics.
        assert torch.equal(b.model.conv1.weight, source.conv1.weight)
        assert torch.equal(b.model.bn1.running_var, source.bn1.running_var)
    # The trained blocks' statistics are each seed's own.
    assert not torch.equal(together[0].model.bn2.running_mean, together[1].model.bn2.running_mean)


def test_by_default_only_networks_without_batch_norm_train_together(digits, monkeypatch):
    def batched(*args, **kwargs):
        raise AssertionError("trained together")

    monkeypatch.setattr(train, "_train_batched", batched)
    schedule = train.Schedule(epochs=1, batch_size=64)
    train.fit_seeds(CONFIG, digits, schedule, seeds=[0, 1], cache=False, verbose=False)
    with pytest.raises(AssertionError, match="together"):
        train.fit_seeds(MLP, digits, schedule, seeds=[0, 1], cache=False, verbose=False)
    with pytest.raises(AssertionError, match="together"):
        train.fit_seeds(CONFIG, digits, schedule, [0, 1], together=True, cache=False)
    train.fit_seeds(MLP, digits, schedule, [0, 1], together=False, cache=False, verbose=False)


def test_fit_seeds_wants_distinct_seeds_and_one_dataset_per_seed(digits):
    with pytest.raises(ValueError, match="differ"):
        train.fit_seeds(MLP, digits, seeds=[1, 1], cache=False)
    with pytest.raises(ValueError, match="one dataset"):
        train.fit_seeds(MLP, [digits], seeds=[1, 2], cache=False)


def test_augmentation_flips_then_scales_and_shifts_a_copy():
    # The reference: flip the drawn images left to right, then x * gain + shift per channel.
    g = torch.Generator().manual_seed(3)
    x = torch.randn(20, 3, 4, 5, generator=g)
    before = x.clone()
    draws = train._EpochDraws(20, x.shape, "flip+color", torch.Generator().manual_seed(0), "cpu")
    idx = draws.order[:8]
    expected = torch.where(draws.flips[idx, None, None, None], x[idx].flip(-1), x[idx])
    expected = expected * draws.gains[idx] + draws.shifts[idx]
    assert draws.flips[idx].any() and not draws.flips[idx].all()
    assert torch.equal(draws.augmented(x, idx), expected)
    assert torch.equal(x, before)  # the training set itself is untouched

import torch

from layerwise import data, models, snapshots, train


def _setup():
    digits = data.digits().subset(200)
    config = models.CNNConfig(in_channels=1, widths=(4, 8), num_classes=10)
    schedule = train.Schedule(epochs=3, batch_size=64)
    return digits, config, schedule


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_snapshots_follow_fit():
    digits, config, schedule = _setup()
    run = snapshots.fit_with_snapshots(config, digits, schedule, seed=1, verbose=False)
    assert run.epochs == 3
    assert _same(run.states[0], train.initial_state(config, 1))
    # the same network fit trains alone, found in the model cache
    plain = train.fit(config, digits, schedule, seed=1, cache=False, verbose=False)
    assert _same(run.states[-1], plain.model.state_dict())
    assert train.fit(config, digits, schedule, seed=1, verbose=False).from_cache
    # the weights move between epochs
    assert not torch.equal(run.states[1]["conv1.weight"], run.states[2]["conv1.weight"])
    # loading from the snapshot cache gives the same states
    again = snapshots.fit_with_snapshots(config, digits, schedule, seed=1, verbose=False)
    assert again.result.from_cache
    assert all(_same(a, b) for a, b in zip(run.states, again.states, strict=True))
    model = again.model_at(2)
    assert _same({k: v.cpu() for k, v in model.state_dict().items()}, run.states[2])


def test_model_at_checks_epoch():
    digits, config, schedule = _setup()
    run = snapshots.fit_with_snapshots(config, digits, schedule, seed=0, verbose=False)
    try:
        run.model_at(4)
    except ValueError as err:
        assert "0..3" in str(err)
    else:
        raise AssertionError("model_at(4) should fail for 3 epochs")

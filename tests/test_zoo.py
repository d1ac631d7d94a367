import torch

from layerwise import train, zoo


def test_photo_cnn_is_the_same_network_every_time_it_is_asked_for():
    # Pages share the network through the model cache: two recipes must give one cache entry.
    first, second = zoo.photo_cnn(), zoo.photo_cnn()
    assert first.data.fingerprint == second.data.fingerprint
    assert first.config == second.config and first.schedule == second.schedule
    trained = first.fit(seed=0, verbose=False)
    cached = second.fit(seed=0, verbose=False)
    assert not trained.from_cache and cached.from_cache
    for name, weight in trained.model.state_dict().items():
        assert torch.equal(weight, cached.model.state_dict()[name])


def test_photo_cnn_matches_its_data_and_follows_the_profile(monkeypatch):
    recipe = zoo.photo_cnn()
    assert recipe.config.num_classes == recipe.data.num_classes
    assert recipe.data.x_train.shape[1:] == (3, 32, 32)
    monkeypatch.setenv("LAYERWISE_PROFILE", "default")
    bigger = zoo.photo_cnn()
    assert len(bigger.data.y_train) > len(recipe.data.y_train)
    assert bigger.schedule.epochs > recipe.schedule.epochs
    assert bigger.config == recipe.config


def test_recipe_fit_passes_options_to_train_fit():
    recipe = zoo.photo_cnn()
    result = recipe.fit(seed=1, cache=False, verbose=False)
    assert isinstance(result, train.FitResult) and not result.from_cache


def test_photo_halves_split_the_twelve_photographs_into_disjoint_halves():
    import pytest

    for split, sizes in (("random", (6, 6)), ("dissimilar", (8, 4))):
        halves = zoo.photo_halves(split)
        assert (halves.a.num_classes, halves.b.num_classes) == sizes
        assert not set(halves.a.classes) & set(halves.b.classes)
        assert len(set(halves.a.classes) | set(halves.b.classes)) == 12
    grey = zoo.photo_halves("dissimilar").b
    pixels = grey.denormalize(grey.x_train)
    assert torch.allclose(pixels[:, 0], pixels[:, 1], atol=1e-5)  # grey-scale: equal channels
    assert zoo.photo_halves("random").a.classes == zoo.photo_halves("random").a.classes
    with pytest.raises(ValueError, match="split"):
        zoo.photo_halves("by colour")

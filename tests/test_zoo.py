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
    recipe.fit(seed=1, verbose=False)  # the model cache now holds this network
    result = recipe.fit(seed=1, cache=False, verbose=False)
    assert isinstance(result, train.FitResult)
    assert not result.from_cache  # cache=False reached train.fit, or it would have loaded it


def test_mnist1d_halves_split_the_ten_digits_into_disjoint_halves():
    halves = zoo.mnist1d_halves()
    assert (halves.a.num_classes, halves.b.num_classes) == (5, 5)
    assert not set(halves.a.classes) & set(halves.b.classes)
    assert len(set(halves.a.classes) | set(halves.b.classes)) == 10
    assert halves.config.depth == 6  # deep enough to have a middle
    assert halves.fine_tune.lr < halves.schedule.lr
    # B's few labels: balanced, drawn per seed, and the same draw for the same seed.
    b0, b1 = halves.b_labelled(0), halves.b_labelled(1)
    assert torch.bincount(b0.y_train).tolist() == [halves.labels_per_class] * 5
    assert b0.fingerprint == halves.b_labelled(0).fingerprint != b1.fingerprint
    assert torch.equal(b0.x_test, halves.b.x_test)
    assert zoo.mnist1d_halves().a.classes == halves.a.classes


def test_prepare_fills_the_cache_the_pages_read():
    from layerwise import snapshots

    assert zoo.prepare("photo_cnn", seed=2)  # trained
    assert not zoo.prepare("photo_cnn", seed=2)  # already there
    recipe = zoo.photo_cnn()
    args = (recipe.config, recipe.data, recipe.schedule)
    assert snapshots.is_cached(*args, seed=2) and not snapshots.is_cached(*args, seed=3)
    assert recipe.fit(seed=2, verbose=False).from_cache
    run = snapshots.fit_with_snapshots(*args, seed=2, verbose=False)
    assert run.result.from_cache and run.epochs == recipe.schedule.epochs


def test_recipes_lists_every_function_that_describes_a_shared_network():
    import inspect

    described = {
        name
        for name, f in inspect.getmembers(zoo, inspect.isfunction)
        if f.__module__ == zoo.__name__ and inspect.signature(f).return_annotation == "Recipe"
    }
    assert described == set(zoo.recipes()) == {"photo_cnn"}

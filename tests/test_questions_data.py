"""The datasets and the 1-D network added for the learners' questions."""

import pytest
import torch
from torch import nn

from layerwise import data, features, models, train


def test_four_clusters_are_four_quadrants():
    ds = data.four_clusters(200, 100, spread=0.2)
    assert ds.x_train.shape == (200, 2) and ds.num_classes == 4
    x = ds.x_train * ds.std + ds.mean  # back to the original coordinates
    right, top = x[:, 0] > 0, x[:, 1] > 0
    label = right.long() + 2 * top.long()
    assert (label == ds.y_train).float().mean() > 0.97
    assert "200 train / 100 test examples of 2" in repr(ds)


def test_pixel_permutation_is_a_bijection_applied_identically_to_train_and_test():
    ds = data.digits(size=20)
    perm = data.pixel_permutation(400, seed=3)
    assert torch.equal(perm.sort().values, torch.arange(400))
    assert not torch.equal(perm, torch.arange(400))
    shuffled = data.permute_pixels(ds, perm)
    for original, moved in ((ds.x_train, shuffled.x_train), (ds.x_test, shuffled.x_test)):
        flat, flat_moved = original.flatten(1), moved.flatten(1)
        assert torch.equal(flat_moved, flat[:, perm])
        # a bijection: every pixel value is still there, nothing duplicated or dropped
        assert torch.equal(flat_moved.sort(1).values, flat.sort(1).values)
        inverse = torch.argsort(perm)
        assert torch.equal(flat_moved[:, inverse], flat)
    assert torch.equal(shuffled.y_train, ds.y_train) and torch.equal(shuffled.y_test, ds.y_test)
    assert shuffled.fingerprint != ds.fingerprint


def test_permute_pixels_rejects_a_non_bijection():
    ds = data.digits()
    with pytest.raises(ValueError, match="rearrange"):
        data.permute_pixels(ds, torch.zeros(64, dtype=torch.long))
    with pytest.raises(ValueError, match="rearrange"):
        data.permute_pixels(ds, torch.arange(63))


def test_spoken_words_labels_follow_the_words():
    ds = data.spoken_words(300, 100, seed=1)
    assert ds.x_train.shape == (300, 1, 768) and ds.num_classes == len(data.WORDS)
    words = list(data.WORDS)
    for split, y in (("train", ds.y_train), ("test", ds.y_test)):
        truth = ds.labels_train if split == "train" else ds.labels_test
        for i in range(len(y)):
            word = words[y[i]]
            assert [data.TONES[t] for t in truth["tones"][i]] == list(data.WORDS[word])
        assert torch.equal(truth["tone_set"] * 2 + truth["order"], y)


def test_spoken_words_put_the_sound_where_the_onset_says():
    ds = data.spoken_words(50, 10, noise=0.0)
    raw = ds.x_train[:, 0] * ds.std + ds.mean
    onset = ds.labels_train["onset"]
    for i in range(10):
        loud = raw[i].abs() > 1e-4
        assert loud.nonzero().min() >= onset[i] and loud.nonzero().max() < onset[i] + 512


def _ngrams(word, n):
    padded = ("silence", *word, "silence")
    return sorted(zip(*(padded[k:] for k in range(n)), strict=False))


def test_the_words_of_a_pair_need_three_sounds_in_a_row():
    words = list(data.WORDS.values())
    sets = [frozenset(w) for w in words]
    for p in range(0, len(words), 2):
        a, b = words[p], words[p + 1]
        # order-free: the same tones, the same counts, a tone set no other pair has
        assert sorted(a) == sorted(b) and sets.count(sets[p]) == 2
        # two sounds in a row (silence included) cannot tell them apart; three can
        assert _ngrams(a, 2) == _ngrams(b, 2)
        assert _ngrams(a, 3) != _ngrams(b, 3)


def test_a_1d_cnn_trains_on_sounds():
    ds = data.spoken_words(256, 128, seed=0)
    config = models.CNN1dConfig(num_classes=ds.num_classes, widths=(8, 16), kernel_sizes=(15, 9))
    model = config.build()
    assert [n for n, _ in model.named_children()][:4] == ["conv1", "bn1", "relu1", "pool1"]
    assert features.layer_names(model, nn.Conv1d) == ["conv1", "conv2"]
    result = train.fit(config, ds, train.Schedule(epochs=4, batch_size=64), verbose=False)
    assert result.model(ds.x_test[:4]).shape == (4, ds.num_classes)
    loss = result.history["train_loss"]
    assert loss[-1] < 0.9 * loss[0]
    assert result.test_accuracy > 0.2  # eight words: chance is 0.125 (measured: 0.32)


def test_dataset_helpers_work_for_points_and_sounds():
    points = data.four_clusters(100, 20)
    raw = points.x_train * points.std + points.mean
    assert torch.allclose(points.normalize(raw), points.x_train, atol=1e-5)
    assert torch.allclose(points.normalize(raw[0]), points.x_train[0], atol=1e-5)
    sounds = data.spoken_words(64, 16)
    x = sounds.x_train[:3]
    assert sounds.denormalize(x).shape == x.shape
    assert sounds.denormalize(x[0]).shape == x[0].shape

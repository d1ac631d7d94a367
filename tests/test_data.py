import numpy as np
import pytest
import torch

from layerwise import data
from layerwise.data import drawings, photos


@pytest.fixture(scope="module")
def patches():
    return data.photo_patches(size=16, n_train=1200, n_test=600, seed=3)


def test_photo_patches_shapes_labels_and_standardisation(patches):
    assert patches.x_train.shape == (1200, 3, 16, 16)
    assert patches.x_test.shape == (600, 3, 16, 16)
    assert patches.num_classes == len(data.PHOTOS)
    assert torch.bincount(patches.y_train).tolist() == [100] * 12
    assert patches.x_train.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    back = patches.denormalize(patches.x_test)
    assert back.min() >= 0 and back.max() <= 1
    assert torch.allclose(patches.normalize(back), patches.x_test, atol=1e-5)


def test_photo_patches_are_deterministic(patches):
    again = data.photo_patches(size=16, n_train=1200, n_test=600, seed=3)
    other = data.photo_patches(size=16, n_train=1200, n_test=600, seed=4)
    assert again.fingerprint == patches.fingerprint
    assert other.fingerprint != patches.fingerprint


def test_no_test_patch_overlaps_a_training_patch(patches):
    size = patches.x_train.shape[-1]
    for label in range(patches.num_classes):
        train = patches.labels_train["origin"][patches.y_train == label]
        test = patches.labels_test["origin"][patches.y_test == label]
        # Two size x size squares overlap iff their corners are closer than size on both axes.
        gap = (train[:, None, :] - test[None, :, :]).abs()
        assert not ((gap < size).all(dim=-1)).any(), data.PHOTOS[label]


def test_crops_never_leave_their_tile():
    rng = np.random.default_rng(0)
    img = np.arange(64 * 96 * 3).reshape(64, 96, 3)
    is_test = photos._tile_split(img.shape, 32, 0.25, rng)
    for split in (False, True):
        tiles = np.argwhere(is_test == split)
        crops, origins = photos._crops(img, tiles, 32, 16, 500, rng)
        assert origins.shape == (500, 2) and crops.shape == (500, 3, 16, 16)
        (y0, x0), crop = origins[7], crops[7]  # channels first: crop[c, i, j] = img[y0+i, x0+j, c]
        assert (crop == img[y0 : y0 + 16, x0 : x0 + 16].transpose(2, 0, 1)).all()
        for crop in crops:
            y, x = divmod(int(crop[0, 0, 0]) // 3, 96)
            assert is_test[y // 32, x // 32] == split
            assert (y % 32) + 16 <= 32 and (x % 32) + 16 <= 32


def test_photo_tensor_is_the_photo_channels_first_in_0_1():
    array, tensor = data.photo("coffee"), data.photo_tensor("coffee")
    assert tensor.shape == (3, *array.shape[:2]) and tensor.dtype == torch.float32
    assert tensor.min() >= 0 and tensor.max() <= 1
    assert tensor[:, 10, 20].tolist() == pytest.approx((array[10, 20] / 255).tolist())


def test_first_test_keeps_the_first_test_images_and_a_fingerprint_of_its_own():
    d = data.shapes(n_train=40, n_test=30)
    head = d.first_test(12)
    assert torch.equal(head.x_test, d.x_test[:12]) and torch.equal(head.y_test, d.y_test[:12])
    assert torch.equal(head.x_train, d.x_train)
    assert all(torch.equal(v, d.labels_test[k][:12]) for k, v in head.labels_test.items())
    assert head.labels_test and head.fingerprint != d.fingerprint
    with pytest.raises(ValueError, match="n_test must be in 1..30"):
        d.first_test(31)


def test_unknown_photo_names_the_choices():
    with pytest.raises(ValueError, match="astronaut"):
        data.photo("mona_lisa")


def test_digits_split_is_stratified_and_disjoint():
    d = data.digits(size=20, seed=1)
    assert d.x_train.shape[1:] == (1, 20, 20)
    assert len(d.y_train) + len(d.y_test) == 1797
    counts = torch.bincount(d.y_test, minlength=10).float()
    assert counts.min() >= 50
    train = {row.numpy().tobytes() for row in d.x_train.flatten(1)}
    assert sum(row.numpy().tobytes() in train for row in d.x_test.flatten(1)) == 0


def test_subset_is_class_balanced():
    d = data.digits()
    small = d.subset(50, seed=0)
    assert len(small.y_train) == 50
    assert torch.bincount(small.y_train, minlength=10).tolist() == [5] * 10
    assert torch.equal(small.x_test, d.x_test)


def test_subset_indices_name_the_images_subset_keeps():
    d = data.digits()
    for n, seed in ((50, 0), (50, 1), (13, 3)):
        chosen = d.subset_indices(n, seed=seed)
        small = d.subset(n, seed=seed)
        assert torch.equal(d.x_train[chosen], small.x_train)
        assert torch.equal(d.y_train[chosen], small.y_train)
        assert torch.all(chosen[1:] > chosen[:-1])
    assert not torch.equal(d.subset_indices(50, seed=0), d.subset_indices(50, seed=1))


def test_render_marks_the_orientation_of_each_stroke():
    segments = torch.tensor(
        [[[2.0, 8.0, 14.0, 8.0]], [[8.0, 2.0, 8.0, 14.0]], [[2.0, 2.0, 14.0, 14.0]]]
    )
    ink, orientation = drawings._render(segments, 16, torch.full((3,), 1.5))
    assert ink.shape == (3, 16, 16)
    for i, expected in enumerate([0, 2, 1]):
        assert torch.all(orientation[i][ink[i] > 0.5] == expected)


def test_shapes_parts_follow_the_objects_without_clutter():
    d = data.shapes(n_train=400, n_test=100, distractors=0, seed=0)
    for name in data.SHAPE_CLASSES:
        label = data.SHAPE_CLASSES.index(name)
        _, parts = drawings._TEMPLATES[name]
        rows = d.y_train == label
        for part in ("corner", "junction", "curve"):
            assert torch.all(d.labels_train[part][rows] == int(part in parts)), (name, part)


def test_shapes_clutter_makes_parts_vary_within_a_class():
    d = data.shapes(n_train=800, n_test=200, distractors=2, seed=0)
    circles = d.y_train == data.SHAPE_CLASSES.index("circle")
    assert 0 < d.labels_train["corner"][circles].float().mean() < 1
    assert d.labels_train["orientation"].shape == (800, 4, 4)
    assert set(d.labels_train["orientation"].unique().tolist()) == {0, 1, 2, 3, 4}


def test_shapes_are_deterministic_and_splits_differ():
    a = data.shapes(n_train=200, n_test=50, seed=5)
    b = data.shapes(n_train=200, n_test=50, seed=5)
    assert a.fingerprint == b.fingerprint
    assert not torch.equal(a.x_train[:50], a.x_test)


def test_load_names_the_offline_alternatives(tmp_path):
    assert data.load("digits").num_classes == 10
    with pytest.raises(FileNotFoundError, match="photo_patches, digits, shapes"):
        data.load("mnist", root=tmp_path)
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load("imagenet")


def test_dataset_repr_is_readable():
    d = data.digits()
    assert "1257 train / 540 test images of 1x8x8, 10 classes" in repr(d)


def test_training_images_are_standardised_per_channel_and_denormalize_undoes_it(patches):
    x = patches.x_train
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4)
    pixels = patches.denormalize(x[:8])
    assert pixels.min() >= 0 and pixels.max() <= 1 and pixels.std() > 0.05
    assert torch.allclose(patches.normalize(pixels), x[:8], atol=1e-5)

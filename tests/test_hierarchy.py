import numpy as np
import pytest
import torch

from layerwise import data, hierarchy
from layerwise.similarity import ProbeRow


@pytest.fixture(scope="module")
def drawings():
    return data.shapes(n_train=300, n_test=100, seed=0)


def test_clutter_part_leaves_out_objects_that_have_the_part(drawings):
    for part, owners in hierarchy.HAS.items():
        label = hierarchy.clutter_part(drawings, part, "train")
        owner_ids = [drawings.classes.index(c) for c in owners]
        own = torch.isin(drawings.y_train, torch.tensor(owner_ids))
        assert (label[own] == -1).all()
        assert torch.equal(label[~own], drawings.labels_train[part][~own].long())
        assert set(label[~own].tolist()) <= {0, 1}


def test_probe_labels_names_and_sizes(drawings):
    labels = hierarchy.probe_labels(drawings, n_train=120, n_test=50)
    assert len(labels) == 1 + len(hierarchy.CELLS) + len(hierarchy.PARTS)
    assert {name.split()[0] for name in labels} == set(hierarchy.LEVELS)
    for train, test in labels.values():
        assert len(train) == 120 and len(test) == 50
    torch.testing.assert_close(
        labels["orientation 12"][1], drawings.labels_test["orientation"][:50, 1, 2]
    )


def test_level_accuracy_averages_each_level():
    rows = [
        ProbeRow("a", "object", 1.0, 0.8, 0.1),
        ProbeRow("a", "orientation 11", 1.0, 0.6, 0.3),
        ProbeRow("a", "orientation 12", 1.0, 0.4, 0.3),
        ProbeRow("a", "parts corner", 1.0, 0.7, 0.6),
    ]
    acc, chance = hierarchy.level_accuracy(rows, ["a"])
    np.testing.assert_allclose(acc, [[0.5, 0.7, 0.8]])
    np.testing.assert_allclose(chance, [[0.3, 0.6, 0.1]])
    with pytest.raises(ValueError, match="no probe of level 'orientation' at layer 'b'"):
        hierarchy.level_accuracy(rows, ["b"])

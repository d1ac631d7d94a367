import time

import torch
import torchvision
from torch import nn

from layerwise import models
from layerwise.receptive import ReceptiveField, receptive_field


def test_two_small_filters_see_six_pixels():
    """The example of the issue: a 3x3 filter followed by a 4x4 one sees 6x6 input pixels."""
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 4))
    rf = receptive_field(net, (10, 12))
    assert rf["0"] == ReceptiveField((3, 3), (1, 1), (1.0, 1.0), (8, 10))
    assert rf["1"] == ReceptiveField((6, 6), (1, 1), (2.5, 2.5), (5, 7))
    assert rf["1"].box(0, 0) == (0, 0, 6, 6)
    assert rf["1"].box(4, 6) == (4, 6, 10, 12)


def test_site_cnn_by_hand():
    config = models.CNNConfig(widths=(8, 8, 8), kernel_sizes=(7, 3, 3), strides=(2, 1, 1))
    rf = receptive_field(config.build(), (32, 32))
    # conv1 7/2 pad 3 -> 7, jump 2, centre 0; pool 2/2 -> 9, jump 4, centre 1; conv 3 -> 17 ...
    assert [rf[n].size[0] for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3")] == [
        7,
        9,
        17,
        21,
        37,
        45,
    ]
    assert [rf[n].stride[0] for n in ("conv1", "pool1", "pool2", "pool3")] == [2, 4, 8, 16]
    assert rf["pool1"].start == (1.0, 1.0)
    assert rf["pool3"].shape == (2, 2)
    assert rf["fc"].shape == (1, 1)
    assert list(rf)[:4] == ["conv1", "bn1", "relu1", "pool1"]


def test_vgg16_matches_the_published_table():
    """Araujo et al. (2019): vgg_16 pool1..pool5 = 6, 16, 44, 100, 212, stride 32, padding 90."""
    with torch.device("meta"):  # no weights are needed, so none are allocated
        net = torchvision.models.vgg16(weights=None)
    rf = receptive_field(net, (224, 224))
    pools = [f"features.{i}" for i in (4, 9, 16, 23, 30)]
    assert [rf[p].size for p in pools] == [(r, r) for r in (6, 16, 44, 100, 212)]
    assert rf["features.30"].stride == (32, 32)
    last = rf["features.30"]
    assert (last.size[0] - 1) / 2 - last.start[0] == 90  # effective padding


def test_resnet50_is_fast():
    net = torchvision.models.resnet50(weights=None)
    receptive_field(net, 224)
    t = time.perf_counter()
    rf = receptive_field(net, 224)
    assert time.perf_counter() - t < 1.0
    assert rf["layer4"].stride == (32, 32)
    assert "layer1.0.relu_2" in rf  # the names features.extract uses

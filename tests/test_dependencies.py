"""What the gallery pages rely on from the libraries they call directly, pinned here so that an
upgrade that changes it fails a test instead of silently changing a figure."""

import torch
from captum.attr import Occlusion

from layerwise import models


def test_captum_occlusion_of_several_scores_is_occlusion_of_each_alone():
    # The occlusion page runs one occlusion sweep for several classes at once: a forward that
    # returns each image's scores of the classes asked for, one column each, gives one map per
    # image and column (image by image), each the map Captum gives for that class alone.
    torch.manual_seed(0)
    net = models.CNNConfig(in_channels=3, num_classes=5, widths=(4, 8)).build().eval()
    x, targets = torch.randn(3, 3, 16, 16), torch.tensor([[0, 4], [2, 1], [3, 3]])
    args = dict(sliding_window_shapes=(3, 4, 4), strides=(3, 2, 2), baselines=0.0)
    together = Occlusion(lambda inputs, t: net(inputs).gather(1, t)).attribute(
        x, additional_forward_args=(targets,), perturbations_per_eval=4, **args
    )
    assert together.shape == (6, 3, 16, 16)
    together = together.unflatten(0, targets.shape)
    for j in range(targets.shape[1]):
        alone = Occlusion(net).attribute(x, target=targets[:, j], **args)
        torch.testing.assert_close(together[:, j], alone)

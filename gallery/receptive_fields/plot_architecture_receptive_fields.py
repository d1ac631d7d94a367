"""
Receptive fields of well-known architectures
============================================

How much of a 224x224 image does the last convolutional layer of AlexNet, VGG-16, ResNet or
MobileNet see? Araujo et al. :cite:`araujo2019computing` tabulated it for the TensorFlow
versions of these networks. Here :func:`layerwise.receptive.receptive_field` computes it from
torchvision's own model definitions while the page is built: no weights are downloaded, only
the architecture is read.

:Predict first: Does one unit in AlexNet's last convolutional layer see a small patch of the
   input image, or most of it?
"""

# %%
# The table
# ---------
# For each stage (the layers where the :term:`feature map` is halved) the receptive-field size, the
# :term:`stride` between neighbouring units and the centre of the first unit, all in input pixels,
# for a 224x224 input. The models are built on PyTorch's ``meta`` device, which allocates no memory
# for weights.
import time

import matplotlib.pyplot as plt
import torch
import torchvision
from torch import nn

from layerwise import receptive, stats

stages = {
    "alexnet": ["features.2", "features.5", "features.12"],
    "vgg16": ["features.4", "features.9", "features.16", "features.23", "features.30"],
    "resnet18": ["maxpool", "layer1", "layer2", "layer3", "layer4"],
    "resnet50": ["maxpool", "layer1", "layer2", "layer3", "layer4"],
    "mobilenet_v2": ["features.1", "features.3", "features.6", "features.13", "features.17"],
}
fields, seconds = {}, {}
for name in stages:
    with torch.device("meta"):
        model = getattr(torchvision.models, name)(weights=None)
    started = time.perf_counter()
    fields[name] = receptive.receptive_field(model, (224, 224))
    seconds[name] = time.perf_counter() - started
    fields[name, "model"] = model

print(f"{'model':>13} {'stage':>12} {'size':>5} {'stride':>6} {'start':>6} {'map':>7}")
for name, layers in stages.items():
    for layer in layers:
        rf = fields[name][layer]
        print(
            f"{name:>13} {layer:>12} {rf.size[0]:>5} {rf.stride[0]:>6} {rf.start[0]:>6.1f} "
            f"{rf.shape[0]:>3}x{rf.shape[1]:<3}"
        )
for name in stages:
    print(f"{name}: all {len(fields[name])} layers computed in {seconds[name] * 1000:.0f} ms")

# %%
# Compared with the published table
# ---------------------------------
# Araujo et al. list, for the last feature layer: AlexNet 195 pixels and VGG-16 212 pixels, both
# with stride 32, and VGG-16 per stage 6, 16, 44, 100, 212. torchvision's AlexNet and VGG-16 have
# the same kernels and strides as the TF-Slim versions, so these should agree (the first unit's
# position can differ, because the padding differs). Their ResNet-50 (483 pixels) and MobileNet
# v1 (315 pixels) are different networks from torchvision's ResNet-50, which puts the stride of a
# downsampling block on its 3x3 convolution rather than the first 1x1, and MobileNetV2.
published = {"alexnet": 195, "vgg16": 212}
for name, size in published.items():
    ours = fields[name][stages[name][-1]].size[0]
    print(f"{name}: computed {ours}, published {size}: {'agree' if ours == size else 'DIFFER'}")
display = {"alexnet": "AlexNet", "vgg16": "VGG-16"}
for name, size in published.items():
    stats.claim(
        f"{display[name]}'s last feature layer sees {size}x{size} pixels, as Araujo et al. "
        "published",
        stats.exact(fields[name][stages[name][-1]].size[0]),
        above=size - 0.5,
        below=size + 0.5,
        unit="pixels across",
    )
print(f"resnet50: computed {fields['resnet50']['layer4'].size[0]} (TF-Slim resnet_v1_50: 483)")
print(
    f"mobilenet_v2: computed {fields['mobilenet_v2']['features.18'].size[0]} "
    "(TF-Slim mobilenet_v1: 315)"
)

# %%
# Checked against gradients
# -------------------------
# The analytic numbers are checked against :func:`layerwise.receptive.gradient_receptive_field`,
# which measures the field from the support of input gradients. The input must be large enough
# to hold a whole field, so the check runs at a larger size, which the fields do not depend on
# (the strides and sizes of the stages are the same at any input size).
check = {
    "vgg16": (448, "features.30"),
    "resnet18": (512, "layer4"),
    "resnet50": (512, "layer4"),
    "mobilenet_v2": (544, "features.17"),
}
agree = 0
for name, (size, layer) in check.items():
    model = fields[name, "model"]
    analytic = receptive.receptive_field(model, size)[layer]
    measured = receptive.gradient_receptive_field(model, layer, size)
    same = (measured.size, measured.stride) == (analytic.size, analytic.stride)
    agree += same
    print(
        f"{name} {layer} at {size}px: analytic {analytic.size[0]}, measured {measured.size[0]}"
        f" -> {'agree' if same else 'DIFFER'}"
    )
stats.claim(
    f"The gradient measurement gives the analytic size and stride for all {len(check)} networks",
    stats.exact(agree),
    above=len(check) - 0.5,
    unit="networks agree",
)

# %%
# Size against depth
# ------------------
# Every convolution and :term:`pooling` layer along the main path, in order (ResNet's shortcut
# convolutions are parallel to the main path and left out). The dotted line is the 224-pixel
# input.
fig, ax = plt.subplots(figsize=(7.2, 4.2), layout="constrained")
for name in stages:
    model = fields[name, "model"]
    convs = [
        layer
        for layer, module in model.named_modules()
        if isinstance(module, nn.Conv2d | nn.MaxPool2d) and "downsample" not in layer
    ]
    sizes = [fields[name][layer].size[0] for layer in convs]
    ax.plot(range(1, len(sizes) + 1), sizes, ".-", label=f"{name} ({sizes[-1]} px)")
ax.axhline(224, color="0.4", ls=":", lw=1)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("convolution or pooling layer along the main path")
ax.set_ylabel("receptive field (pixels)")
ax.legend(fontsize=8)
ax.set_title("Receptive field size layer by layer (224x224 input)", fontsize=10)
plt.show()

# %%
# What it shows
# -------------
# The :term:`receptive field` of every stage comes from the model definitions alone, and where the
# published table describes the same architecture the numbers agree: AlexNet's last layer sees
# 195 pixels and VGG-16's pool5 212, as Araujo et al. list. An independent measurement, the
# support of input gradients, gives the same sizes and strides. By the last stage every one of
# these networks has units whose field is about as large as the image or larger, so the last
# layers can relate parts anywhere in the picture; but as the previous page showed, how much of
# that field a unit effectively uses is a different, smaller number.

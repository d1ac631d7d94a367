"""
From random noise to edge detectors
===================================

A convolutional network's first layer is a set of small filters, and training starts them as
random numbers. Does gradient descent really turn them into edge and colour detectors, as the
textbooks show for AlexNet? Here a small CNN learns to tell which of twelve photographs a
32x32 patch was cut from. We draw its 32 first-layer filters before and after training and
measure how *oriented* each one is, so the change is a number and not only a picture.
"""

# %%
# The data: patches of twelve photographs
# ---------------------------------------
# :func:`layerwise.data.photo_patches` cuts random 32x32 crops from photographs that ship with
# scikit-image and scikit-learn: eight colour photographs and four grey-scale ones (three
# textures and the cameraman). The label is the photograph. Test patches come from regions of
# each photograph that no training patch touches.
import matplotlib.pyplot as plt
import torch

from layerwise import filters, plot, runtime, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
print(patches)

first = [int((patches.y_train == c).nonzero()[0]) for c in range(patches.num_classes)]
fig = plot.image_grid(
    [patches.denormalize(patches.x_train[i]).permute(1, 2, 0).numpy() for i in first],
    titles=[name.replace("_", " ")[:14] for name in patches.classes],
    ncols=6,
    size=1.3,
)
fig.suptitle("One training patch from each photograph (the label is the photograph)")
plt.show()

# %%
# The network and how it is trained
# ---------------------------------
# Three convolution blocks and a linear classifier. The first layer has 32 filters of 7x7
# pixels with stride 2, like the first layers of AlexNet and ZFNet, scaled down.
#
# Two choices matter for the picture:
#
# * **Colour jitter.** Each training patch gets a random gain and offset per colour channel, so
#   the mean colour of a patch is an unreliable cue. Without it, most of the photographs can be
#   told apart by colour alone and most filters stay flat colour blobs.
# * **A small start for the first layer.** The first-layer weights start at 5 % of PyTorch's
#   usual scale. Batch normalisation follows the layer, so the scale changes nothing the network
#   computes; but in a short training run, filters that start at full scale keep much of their
#   initial noise, which hides what the gradient added. (Try ``conv1_init_scale=1.0``.)
#
# Other pages study this same network, so its recipe is written once, in
# :func:`layerwise.zoo.photo_cnn`; here is what it holds.
config, schedule = recipe.config, recipe.schedule
print(config)
print(schedule)

# %%
# The filters before training are the network as :meth:`~layerwise.models.CNNConfig.build`
# creates it with the same seed that :func:`~layerwise.train.fit` uses.
runtime.seed_everything(0)
initial = config.build().conv1.weight.detach().clone()
result = recipe.fit(seed=0)
trained = result.model.conv1.weight.detach().cpu()

# %%
# Before and after
# ----------------
# sphinx_gallery_thumbnail_number = 2
# Each square is one 7x7x3 filter, shown in colour: grey is zero, brighter is positive, darker is
# negative, and a colour means the filter weighs that channel more.
fig = plt.figure(figsize=(11, 4.0), layout="constrained")
fig.suptitle("The 32 first-layer filters, before and after training")
before, after = fig.subfigures(1, 2, wspace=0.04)
plot.filter_grid(initial, fig=before, size=0.6)
before.suptitle("At initialisation: random")
plot.filter_grid(trained, fig=after, size=0.6)
after.suptitle(f"After {schedule.epochs} epochs (test accuracy {result.test_accuracy:.0%})")
plt.show()

# %%
# How edge-like is a filter?
# --------------------------
# An edge or bar detector responds to one orientation. The *orientation selectivity index*
# (:func:`layerwise.filters.orientation_selectivity`) reads that off a filter's 2-D power
# spectrum: 1 for a pure grating, close to 0 for noise or a flat colour blob.
osi_before = filters.orientation_selectivity(initial)
osi_after = filters.orientation_selectivity(trained)
bins = torch.linspace(0, 1, 21).numpy()
fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
ax.hist(osi_before.numpy(), bins=bins, alpha=0.6, label="at initialisation")
ax.hist(osi_after.numpy(), bins=bins, alpha=0.6, label="after training")
ax.set_xlabel("orientation selectivity index")
ax.set_ylabel("number of filters")
ax.set_title("Training makes the filters orientation-selective")
ax.legend()
plt.show()

print(
    f"median orientation selectivity: {osi_before.median():.3f} at initialisation, "
    f"{osi_after.median():.3f} after training"
)
print(
    f"filters with selectivity above 0.4: {int((osi_before > 0.4).sum())} of {len(osi_before)} "
    f"at initialisation, {int((osi_after > 0.4).sum())} after training"
)

# %%
# The most oriented filters
# -------------------------
# The eight trained filters with the highest index, with the orientation of the edge each one
# prefers (:func:`layerwise.filters.preferred_orientation`).
order = osi_after.argsort(descending=True)[:8]
angles = filters.preferred_orientation(trained[order])
fig = plot.filter_grid(
    trained[order],
    ncols=8,
    size=1.1,
    titles=[f"{a:.0f}°, {s:.2f}" for a, s in zip(angles, osi_after[order], strict=True)],
)
fig.suptitle("Most orientation-selective trained filters (edge angle, index)", fontsize=10)
plt.show()

# %%
# What it shows
# -------------
# Nothing in the loss mentions edges, yet the printed selectivity shows the filters becoming
# oriented: several are now light-dark edges or bars at different angles, others are colour
# blobs or colour-opponent pairs, the two kinds of filter found in the first layer of large
# image networks :cite:`zeiler2014visualizing`. They appear because the gradient of the loss
# with respect to a first-layer weight is a sum of image patches weighted by how much each
# patch's response should change. Natural-image patches are dominated by smooth regions and
# edges, so the filters are built from those ingredients.
#
# Not every filter is clean. Some keep a checkerboard texture: with stride 2 the layer samples
# the image every second pixel, and such filters pick up the aliasing that Zeiler and Fergus
# removed by shrinking AlexNet's stride. Other filters stay weak and noisy: nothing forces every
# filter to become useful.

"""Offline datasets as in-memory tensors.

Every dataset here is built from data that ships inside installed packages, or generated, so
the site builds on a machine with no network:

* :func:`photo_patches` -- crops of the colour photographs bundled with scikit-image and
  scikit-learn, one class per photograph;
* :func:`digits` -- scikit-learn's bundled 8x8 handwritten digits, optionally resized;
* :func:`shapes` -- a generated compositional dataset (strokes -> corners and junctions ->
  shapes) that returns the ground-truth parts of every image;
* :func:`four_clusters` -- four classes of points in the plane;
* :func:`mnist1d` -- MNIST-1D (Greydanus 2020): the ten digits as 1-D signals of length 40,
  generated locally by the ``mnist1d`` package, where locality matters;
* :func:`spoken_words` -- generated sounds built like speech (tones and chirps -> "words"
  whose order matters), with the ground truth of every level.

:func:`permute_pixels` shuffles the pixels of a dataset with one fixed permutation.

Each returns a :class:`Dataset` with fixed-seed, disjoint train and test splits, standardised per
channel with the training set's statistics. :func:`load` also opens MNIST / CIFAR-10 when they
are already on disk; nothing here downloads anything unless asked to.

One module per kind of data: ``dataset`` (the container),
``photos``, ``drawings`` (the shapes), ``sounds``, ``toy`` (digits, MNIST-1D, points) and
``catalogue`` (:func:`load`); the names are all available from ``layerwise.data``.
"""

from . import drawings as _drawings
from . import photos as _photos
from . import sounds as _sounds
from .catalogue import load
from .dataset import Dataset, permute_pixels, pixel_permutation
from .drawings import shapes
from .photos import photo, photo_patches, photo_tensor
from .sounds import spoken_words
from .toy import digits, four_clusters, mnist1d

#: The bundled photographs used by :func:`photo_patches`, one class each: eight colour photos and
#: four grey-scale ones (three textures and the cameraman), which only shape, not colour, tells
#: apart.
PHOTOS = _photos.PHOTOS
#: Class names of :func:`shapes`, in label order.
SHAPE_CLASSES = _drawings.SHAPE_CLASSES
#: Elementary sounds of :func:`spoken_words`: three steady tones and two chirps.
TONES = _sounds.TONES
#: "Words" of :func:`spoken_words`: four sounds each, in pairs. The two words of a pair use the
#: same tones (three of one, one of another) and, counting the silence around the word, the
#: same pairs of neighbouring sounds: ``low low high low`` and ``low high low low`` both hold
#: low-low, low-high and high-low once. Only a stretch of three sounds in a row (low-low-high
#: against high-low-low) tells them apart. Different pairs use different tones, so *which
#: tones occur* names the pair and needs no order at all.
WORDS = _sounds.WORDS

__all__ = [
    "PHOTOS",
    "SHAPE_CLASSES",
    "TONES",
    "WORDS",
    "Dataset",
    "digits",
    "four_clusters",
    "load",
    "mnist1d",
    "permute_pixels",
    "photo",
    "photo_patches",
    "photo_tensor",
    "pixel_permutation",
    "shapes",
    "spoken_words",
]

# Documented, and linked from type hints, as ``layerwise.data.<name>``.
for _name in __all__:
    if isinstance(globals()[_name], type) or callable(globals()[_name]):
        globals()[_name].__module__ = __name__
del _name

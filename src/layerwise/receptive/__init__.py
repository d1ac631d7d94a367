"""Receptive fields: which input pixels each unit of a convolutional network can see.

Three ways to answer the question, from exact to empirical:

* :func:`receptive_field` computes it analytically for every layer of a model, following the
  recurrences of Araujo, Norris & Sim (2019): a layer with kernel ``k``, stride ``s``, padding
  ``p`` and dilation ``d`` turns a field of size ``r``, jump ``j`` and start ``c`` into
  ``r + d (k - 1) j``, ``j s`` and ``c + (d (k - 1) / 2 - p) j``. Branches that meet (a residual
  addition, a concatenation) give the union of their fields. The model's forward is read with
  :mod:`torch.fx` (as in :mod:`layerwise.features`, with the same layer names), or, for a plain
  chain of layers that does not trace, by running it once with forward hooks.
* :func:`gradient_receptive_field` measures the field of one layer from the support of an input
  gradient, in a copy of the model whose weights are positive and whose pools average, so that
  nothing cancels. It is the independent check of the analytic numbers.
* :func:`effective_receptive_field` is the *effective* receptive field of Luo et al. (2016): how
  strongly each input pixel influences a centre unit, averaged over random inputs (and
  initialisations), with its Gaussian width.
"""

from .analytic import ReceptiveField, receptive_field
from .effective import EffectiveReceptiveField, effective_receptive_field
from .gradient import gradient_receptive_field

__all__ = [
    "EffectiveReceptiveField",
    "ReceptiveField",
    "effective_receptive_field",
    "gradient_receptive_field",
    "receptive_field",
]

# Documented, and linked from type hints, as ``layerwise.receptive.<name>``.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name

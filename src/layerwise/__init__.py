"""Layerwise: experiments on why the layers of a neural network learn different features."""

__version__ = "0.1.0.dev0"

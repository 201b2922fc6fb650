"""Helpers for the training script's tests."""

# Python code run before `import mxnet` by code that imports it without the training script:
# MXNet 1.9 needs the NumPy aliases that NumPy 1.24 removed (the script restores them too).
NUMPY_SHIM = r"""
import warnings
import numpy as np
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for n, t in (("bool", bool), ("int", int), ("float", float), ("object", object)):
        setattr(np, n, getattr(np, n, t))
"""

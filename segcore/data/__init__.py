"""Data layer: reading/writing images and masks, folder layouts, preprocessing, the torch Dataset, sample data.

Import the submodules directly (``segcore.data.io``, ``.layout``, ``.preprocess``, ``.dataset``, ``.sample``);
this package imports nothing itself so that ``segcore.data.classes`` stays cheap and torch-free.
"""

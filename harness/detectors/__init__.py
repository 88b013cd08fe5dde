"""Detectors: compare the platform's behaviour before and after a hop.

Each detector has two halves: ``snapshot`` reads a live cluster into plain data, and
``compare`` turns two snapshots into findings. ``compare`` is pure, so planted regressions in
unit tests prove each detector fires and names the culprit without a cluster. Each module
declares a ``DETECTOR`` (``base.Detector``); ``registry.DETECTORS`` lists them, and the cell
runs that list. Adding one: ``docs/detectors.md``.
"""

"""Detectors: compare the platform's behaviour before and after a hop.

Each detector has two halves: ``snapshot`` reads a live cluster into plain data, and
``compare`` turns two snapshots into findings. ``compare`` is pure, so planted regressions in
unit tests prove each detector fires and names the culprit without a cluster.
"""

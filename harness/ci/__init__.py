"""Fanning a matrix out over a CI system: one job per cell, then one merged report."""

"""Running matrix cells: cluster lifecycle, scenario phases, hops, detectors, results."""

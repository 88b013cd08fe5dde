"""Reports built from ``summary.json``: a self-contained HTML page (and, later, more formats)."""

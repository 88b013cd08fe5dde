"""The rich console on stderr every display writes to, apart from ``core`` so that importing
``harness.progress`` does not import rich (``harness.progress`` hands it out on first use)."""

from __future__ import annotations

from rich.console import Console

stderr_console = Console(stderr=True, highlight=False, log_path=False)

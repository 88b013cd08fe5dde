"""spin-harness: upgrade and integration testing for multi-tenant Kubernetes platforms."""

__version__ = "0.1.0"

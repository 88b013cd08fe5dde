"""Talking to a cluster through its kubeconfig: clients, readiness and waits."""

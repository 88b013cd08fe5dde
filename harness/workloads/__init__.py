"""Tenant workloads captured from live clusters (export) and replayed into test clusters."""

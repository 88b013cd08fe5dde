"""Pieces every provider uses: owners, names, ports, readiness waits, timed steps, commands.

Nothing here knows a provider: each provider builds on these, and code above the providers
reaches them only through the ``ClusterProvider`` protocol (or, for a log excerpt, ``logs``).
"""

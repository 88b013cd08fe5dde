"""Kubernetes release notes as context for a hop's findings.

Every minor a hop crosses has a ``CHANGELOG/CHANGELOG-1.N.md`` inside the ``k8s.io/kubernetes``
module the toolchain already downloads. ``parse`` reads one into entries, ``locate`` finds the
changelogs and releases a hop crosses, ``match`` picks the entries of the upgrade-relevant
sections that mention what the tenants' objects use, ``relate`` ties them to findings, and
``hop`` puts these together for the cell. The notes are information beside the findings: they
never change a verdict or an exit code.
"""

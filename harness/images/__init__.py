"""Images built offline: Debian roots, single-binary component images, kind node images.

Nothing here pulls from a registry. A Debian root comes from Debian's packages
(debootstrap), the binaries from the toolchain (Go modules), and images are assembled with
the local Docker engine (python-on-whales). Every result is cached by what went into it.
"""

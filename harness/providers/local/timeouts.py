"""How long a local cluster's bring-up and upgrade wait for each thing, apart from the code that
waits, so that making a provider (to list its clusters) loads none of it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Timeouts:
    """Deadlines, in seconds, for the waits of bring-up and upgrade."""

    etcd: float = 60
    apiserver: float = 180
    component: float = 60
    nodes: float = 90
    service_account: float = 90
    #: First and longest pause between health probes: a component's health endpoint answers in
    #: a millisecond on loopback, so polling often costs little and shortens every wait.
    poll: float = 0.05
    max_poll: float = 0.2

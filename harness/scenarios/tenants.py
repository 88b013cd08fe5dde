"""The tenants a scenario is rendered for.

A scenario describes what one project team may and may not do; running it for two tenants at
once is what shows isolation (alpha's owner must not reach beta's namespace). The default set
mirrors how the platform provisions a team: a namespace ``tenant-<name>``, a POSIX uid/gid
pair used for ``runAsUser``/``fsGroup`` on the global filesystems, three people (owner,
member, viewer) and a group for the members.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import InputError

#: Tenant names become namespace and user names, so they must be DNS labels.
TENANT_NAME_RE = re.compile(r"[a-z]([a-z0-9-]{0,40}[a-z0-9])?")

#: The roles every tenant has a person for, in decreasing privilege.
ROLES = ("owner", "member", "viewer")

#: First uid and gid handed out; tenant ``n`` (0-based) gets ``BASE + n``.
UID_BASE = 51001
GID_BASE = 52001


@dataclass(frozen=True)
class Tenant:
    """One project team as the platform provisions it."""

    name: str
    namespace: str
    uid: int
    gid: int
    #: role (owner, member, viewer) -> user name
    users: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()

    def context(self) -> dict[str, Any]:
        """The ``tenant`` variable of templates (plain data, so templates cannot mutate it)."""
        return {
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
            "gid": self.gid,
            "users": dict(self.users),
            "groups": list(self.groups),
        }


def make_tenant(name: str, index: int) -> Tenant:
    """The platform's conventions for tenant ``name``, the ``index``-th one provisioned."""
    if not TENANT_NAME_RE.fullmatch(name):
        raise InputError(f"tenant name {name!r} is not a DNS label", hint="use lower-case letters, digits and dashes")
    return Tenant(
        name=name,
        namespace=f"tenant-{name}",
        uid=UID_BASE + index,
        gid=GID_BASE + index,
        users={role: f"{name}-{role}" for role in ROLES},
        groups=(f"{name}-members",),
    )


def default_tenants(names: Sequence[str] = ("alpha", "beta")) -> list[Tenant]:
    """Two tenants unless told otherwise: the fewest that can show isolation between teams."""
    if len(set(names)) != len(names):
        raise InputError(f"tenant names repeat: {', '.join(names)}")
    return [make_tenant(name, index) for index, name in enumerate(names)]

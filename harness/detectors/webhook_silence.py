"""When the apiserver got no answer from a webhook: told apart from a decision, and waited out.

A webhook registered with ``failurePolicy: Fail`` that the apiserver cannot call makes every
request it guards fail with 500 "failed calling webhook". That is nobody's decision: right
after a hop the webhook's pods may be moving, a node's proxy rules catching up with its
Service, or a harness step may have just scaled it back. A detector comparing answers across a
hop asks such a request again for a while (``Patience``) and names the silence when it lasts.

Two kinds are told apart by the Go error the apiserver quotes. ``NOT_REACHED``: the connection
was never made (refused, no route, no endpoints, a dial that timed out). ``NO_ANSWER``: a
deadline passed or the connection ended without a response, which is a webhook that could not
be reached or one slower than its ``timeoutSeconds`` (the message does not say which). A
webhook that answered, even with a TLS failure or an error status, is neither: that answer is
kept at once.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FAILED_CALL = "failed calling webhook"
#: The connection was never made.
NOT_REACHED_CAUSES = ("connection refused", "no route to host", "network is unreachable", "no endpoints available")
#: A dial that timed out is also never made; any other timeout may be a slow webhook.
DIAL_TIMEOUT = ("dial tcp", "i/o timeout")
#: A deadline passed, or the connection closed, before any response.
NO_ANSWER_CAUSES = (
    "context deadline exceeded",
    "Client.Timeout exceeded",
    "TLS handshake timeout",
    "i/o timeout",
    "connection reset by peer",
    ": EOF",
)


class Silence(enum.Enum):
    NOT_REACHED = "a webhook could not be reached"
    NO_ANSWER = "a webhook gave no answer (it could not be reached, or is slower than its timeoutSeconds)"


def silence(denial: str) -> Silence | None:
    """What kind of silence an apiserver's refusal reports, or None for an answer (a decision,
    a TLS failure, an error the webhook returned)."""
    if FAILED_CALL not in denial:
        return None
    if any(cause in denial for cause in NOT_REACHED_CAUSES) or all(part in denial for part in DIAL_TIMEOUT):
        return Silence.NOT_REACHED
    if any(cause in denial for cause in NO_ANSWER_CAUSES):
        return Silence.NO_ANSWER
    return None


@dataclass
class Patience:
    """How long one snapshot may wait for silent webhooks, shared by all its requests.

    The clock starts at the first silence, not at the snapshot's start, so a snapshot of many
    namespaces does not spend its patience on requests that were answered.
    """

    seconds: float
    clock: Callable[[], float] = time.monotonic
    _until: float | None = field(default=None, init=False, repr=False)

    def left(self) -> float:
        """Seconds of waiting left; the first call starts the clock."""
        now = self.clock()
        if self._until is None:
            self._until = now + self.seconds
        return max(0.0, self._until - now)

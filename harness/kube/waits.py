"""Deadlines for everything the harness waits on.

Every wait has a deadline and a description; when it expires the error says what was awaited
and the last thing observed, e.g. "timed out after 60s waiting for nodes Ready (2/3 Ready:
node-2 NotReady)". Built on tenacity so retry policy lives in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

from harness.errors import HarnessError, WaitTimeout

T = TypeVar("T")


class FinalAnswer(Exception):
    """Raised by a probe whose answer will not change (a refusal, a decision): the wait stops.

    For answers that are not failures of the harness; those are ``HarnessError``s, which end a
    wait at once too.
    """


def wait_until(
    what: str,
    probe: Callable[[], tuple[bool, str]],
    *,
    timeout: float,
    interval: float = 0.1,
    max_interval: float = 0.5,
) -> str:
    """Call ``probe`` until it returns ``(True, detail)``; raise ``WaitTimeout`` naming ``what``.

    ``probe`` returns ``(done, detail)``; the last detail goes into the timeout message. An
    exception from ``probe`` counts as "not yet" and its text becomes the detail, except a
    ``HarnessError`` or a ``FinalAnswer``, which end the wait at once (the probe knows it will
    never succeed).
    """
    last = ["not checked yet"]

    def attempt() -> bool:
        try:
            done, detail = probe()
        except (HarnessError, FinalAnswer):
            raise  # a definite failure (a component died) or answer: no point waiting longer
        except Exception as exc:  # the thing awaited may not answer yet
            done, detail = False, f"{type(exc).__name__}: {str(exc)[:300]}"
        last[0] = detail
        return done

    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_exponential(multiplier=interval, exp_base=1.5, min=interval, max=max_interval),
        retry=retry_if_result(lambda done: not done),
        reraise=False,
    )
    try:
        retrying(attempt)
    except RetryError:
        raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what} (last seen: {last[0]})") from None
    return last[0]

"""Retry policies: how long to wait before trying a failed message again.

``immediate`` retries at once, ``fixed`` waits the same backoff each time and
``exponential`` multiplies it after every failure up to a ceiling — the schedule
Spring Kafka's ``ExponentialBackOff`` and AWS SDKs use. Jitter spreads retries
of many consumers apart; here it is drawn from a seeded stream, so it is
reproducible. ``attempts`` counts every try, the first one included.
"""

from __future__ import annotations

import random

from simulator.scenario import RetryPolicy

__all__ = ["backoff_ms", "may_retry"]


def may_retry(policy: RetryPolicy, attempt: int) -> bool:
    """Whether a message that just failed its ``attempt``-th try gets another one."""
    return policy.policy != "none" and attempt < policy.attempts


def backoff_ms(policy: RetryPolicy, attempt: int, rng: random.Random) -> int:
    """Delay before try ``attempt + 1`` after the ``attempt``-th try failed."""
    if policy.policy == "immediate":
        base = 0
    elif policy.policy == "fixed":
        base = policy.backoff_ms
    else:
        # Capping the exponent keeps the float finite (100.0 ** 999 overflows); by
        # then any backoff is long past its ceiling anyway.
        growth = policy.multiplier ** min(attempt - 1, 64)
        base = min(policy.max_backoff_ms, int(policy.backoff_ms * growth))
    if policy.jitter and base:
        spread = int(base * policy.jitter)
        base += rng.randint(-spread, spread)
    return max(0, base)

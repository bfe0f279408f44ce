"""Start-up check of the settings that bound a send batch (see docs/architecture.md,
'The outbox'): the lease on its rows, the SMTP timeout of one message, the task time
limit and the broker's visibility timeout must fit inside one another."""

from django.core.exceptions import ImproperlyConfigured

# Seconds a renewed lease keeps beyond the message being sent (database writes, jitter).
LEASE_MARGIN = 10


def check_delivery_timing(
    *, lease: int, smtp_timeout: int | None, time_limit: int, visibility_timeout: int | None
) -> None:
    """Raise ImproperlyConfigured, naming the variables, when these contradict."""
    timeout = smtp_timeout or 0
    if lease < 2 * timeout + LEASE_MARGIN:
        raise ImproperlyConfigured(
            f"SUBSCRIPTIONS_LEASE_SECONDS ({lease}) must be at least twice EMAIL_TIMEOUT "
            f"({timeout}) plus {LEASE_MARGIN}: a send batch renews its lease when half of it "
            "is left, and that half must cover one message that takes the whole SMTP timeout."
        )
    if time_limit < lease:
        raise ImproperlyConfigured(
            f"CELERY_TASK_TIME_LIMIT ({time_limit}) must be at least "
            f"SUBSCRIPTIONS_LEASE_SECONDS ({lease}): a send batch must be allowed to live "
            "long enough to renew its lease once."
        )
    if visibility_timeout is not None and visibility_timeout <= time_limit:
        raise ImproperlyConfigured(
            f"CELERY_VISIBILITY_TIMEOUT ({visibility_timeout}) must exceed "
            f"CELERY_TASK_TIME_LIMIT ({time_limit}): the broker would hand a task that is "
            "still running to another worker."
        )


def soft_time_limit(time_limit: int, smtp_timeout: int | None) -> int | None:
    """The soft limit: early enough that the message in flight (at most the SMTP timeout)
    and the hand-back of the batch's rows finish before the hard limit kills the task."""
    soft = time_limit - (smtp_timeout or 0) - LEASE_MARGIN
    return soft if soft > 0 else None

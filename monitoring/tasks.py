"""Celery tasks of monitoring: thin wrappers run by beat (CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from monitoring import heartbeats

CHECK_HEARTBEATS = "monitoring.tasks.check_heartbeats"


@shared_task(name=CHECK_HEARTBEATS)
def check_heartbeats() -> int:
    return heartbeats.check_windows()

"""Celery application. Without CELERY_BROKER_URL tasks run eagerly, in the caller's process."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# Every task records its run (core.scheduled); the class keeps an eager run's error too.
app = Celery("portal", task_cls="core.scheduled:RecordedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

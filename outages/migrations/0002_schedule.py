"""The daily rebuild of the quality-of-supply figures as a django-celery-beat row (created
when missing, never overwritten: planners change it in the admin)."""

from django.conf import settings
from django.db import migrations

NAME = "Calidad de servicio: interrupciones, eventos e índices del mes y del anterior"


def create(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="5", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone=settings.TIME_ZONE,
    )  # fmt: skip
    PeriodicTask.objects.create(
        name=NAME, task="outages.tasks.rebuild_recent", crontab=crontab, enabled=True
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0001_quality_of_supply"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]

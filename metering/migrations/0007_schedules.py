"""The metering's scheduled tasks as django-celery-beat rows (not CELERY_BEAT_SCHEDULE,
which beat would write over the planners' edits each time it starts). Created when missing;
an existing row, however edited, is left alone."""

from django.conf import settings
from django.db import migrations

SCHEDULES = [
    # name, task, minute, hour, day of month
    (
        "Medición: VEE, medidores virtuales, respaldo y balances del día anterior",
        "metering.tasks.daily_metering",
        "15",
        None,
        "*",
    ),
    (
        "Medición: demanda mensual y balance del mes anterior",
        "metering.tasks.monthly_metering",
        "45",
        None,
        "1",
    ),
    (
        "Medición: reportes del mes anterior",
        "metering.tasks.monthly_reports",
        "30",
        None,
        "2",
    ),
]


def create(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    hour = str(settings.METERING_DAILY_HOUR)
    for name, task, minute, _, day in SCHEDULES:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month=day,
            month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab, enabled=True)


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0006_measurement_points"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]

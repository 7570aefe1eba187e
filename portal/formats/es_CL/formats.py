"""Spanish (Chile): Django's Spanish formats, plus dates typed with dashes (02-03-2026), as
they are often written in Chile. Only the input formats differ; everything else comes from
django.conf.locale.es (Django looks the other names up there)."""

from django.conf.locale.es.formats import DATE_INPUT_FORMATS as SPANISH_DATES
from django.conf.locale.es.formats import DATETIME_INPUT_FORMATS as SPANISH_DATETIMES

# The first of each stays the one the admin's calendar writes (dd/mm/aaaa).
DATE_INPUT_FORMATS = [*SPANISH_DATES, "%d-%m-%Y"]
DATETIME_INPUT_FORMATS = [*SPANISH_DATETIMES, "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M"]

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_application = get_wsgi_application()

# Plain vector tile requests answered in front of Django's handler (maps/tiles/wsgi.py).
from maps.tiles.wsgi import TileFastPath  # noqa: E402 (needs the apps loaded above)

application = TileFastPath(django_application)

# What every process would load on its first requests loaded now, and the long-lived objects
# kept out of the garbage collector's full collections (core/runtime.py).
from core.runtime import settle  # noqa: E402

settle()

from django.urls import path, register_converter

from maps.tiles import views


class SignedInt:
    """Digits with an optional minus: a negative column is a bad address (400), not a 404."""

    regex = r"-?[0-9]{1,12}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(SignedInt, "signed")

app_name = "tiles"
# Vector tiles: /tiles/<layer>/<z>/<x>/<y>.mvt (see maps/tiles).
urlpatterns = [
    path("<str:layer>/<signed:z>/<signed:x>/<signed:y>.mvt", views.tile, name="tile"),
]

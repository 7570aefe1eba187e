"""Admin: readings."""

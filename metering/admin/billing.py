"""Admin: billing."""

"""Admin: dr."""

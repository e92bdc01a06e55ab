"""meters package."""

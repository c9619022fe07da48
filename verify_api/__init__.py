"""verify_api."""

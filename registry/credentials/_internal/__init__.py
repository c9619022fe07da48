"""Private: the credential machinery behind `registry.credentials` (import from there)."""

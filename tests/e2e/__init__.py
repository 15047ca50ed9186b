"""End-to-end tests against the real gofastapi-server binary (see conftest.py)."""

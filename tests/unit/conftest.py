"""Shared helpers for the gofastapi unit tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gofastapi import GoFastAPI  # noqa: E402
from gofastapi.testclient import TestClient  # noqa: E402


@pytest.fixture
def app() -> GoFastAPI:
    return GoFastAPI()


@pytest.fixture
def client(app: GoFastAPI) -> TestClient:
    return TestClient(app)

"""Web fixtures: the app over an in-memory copy of the built store, and its test client."""
from __future__ import annotations

import pytest

from repression_kg.backend import MemoryBackend
from repression_kg.web import create_app


@pytest.fixture(scope="session")
def memory_backend(built):
    return MemoryBackend.from_build(built)


@pytest.fixture(scope="session")
def app(memory_backend):
    return create_app({"TESTING": True, "BACKEND": memory_backend})


@pytest.fixture
def client(app):
    return app.test_client()

"""Fixtures of the provider tests: a loopback HTTP server and fast HTTP clients."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import localserver (importlib mode)

from localserver import LocalServer  # noqa: E402

from broadening.providers.http import HttpClient  # noqa: E402


@pytest.fixture
def server():
    s = LocalServer()
    yield s
    s.close()


@pytest.fixture
def make_client(tmp_path):
    """Factory of fast clients: tiny backoff and timeout, a fresh cache dir, recorded sleeps."""

    def _make(**kw) -> HttpClient:
        sleeps: list[float] = []
        opts = {"cache_dir": tmp_path / "cache", "backoff": 0.01, "timeout": 2.0, "retries": 3, "sleep": sleeps.append}
        opts.update(kw)
        c = HttpClient(**opts)
        c.sleeps = sleeps  # type: ignore[attr-defined]
        return c

    return _make


@pytest.fixture(autouse=True)
def _no_live_env(monkeypatch, tmp_path):
    """Never let a test reach a real host or the user's cache through the environment."""
    for var in (
        "BROADENING_SEC_BASE_URL", "BROADENING_FRED_BASE_URL", "BROADENING_FRED_API_BASE_URL",
        "BROADENING_FRENCH_BASE_URL", "FRED_API_KEY", "BROADENING_SEC_USER_AGENT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BROADENING_CACHE_DIR", str(tmp_path / "env-cache"))

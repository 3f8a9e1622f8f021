"""Fixtures of the provider tests: a loopback HTTP server and fast HTTP clients."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # tests import localserver (importlib mode)

from localserver import live_fixtures  # noqa: E402

server, make_client, _no_live_env = live_fixtures()

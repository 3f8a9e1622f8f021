"""Loopback HTTP server for the provider tests (recorded payloads, canned failures)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PAYLOADS = Path(__file__).with_name("payloads")


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


@dataclass
class Reply:
    """One canned response: status, body, headers, and a delay before answering."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    time: float


class LocalServer:
    """Routes: ``path -> Reply | [Reply, ...] | f(query) -> Reply``; a list is served in order, its last repeating."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                with server._lock:
                    server.seen.append(Seen(parts.path, parse_qs(parts.query), dict(self.headers), time.monotonic()))
                    route = server.routes.get(parts.path)
                    if isinstance(route, list):
                        reply = route.pop(0) if len(route) > 1 else route[0]
                    elif callable(route):
                        reply = route(parse_qs(parts.query))
                    else:
                        reply = route
                if reply is None:
                    reply = Reply(404, b"Not Found")
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, path: str | None = None) -> int:
        return sum(1 for s in self.seen if path is None or s.path == path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()




def recorded_yahoo(ticker: str, start=None, end=None):
    """A yfinance stand-in serving recorded ``history``/``get_shares_full``/``info`` payloads.

    An unknown ticker gets what yfinance gives a delisted one: an empty history frame.
    """
    import json

    import pandas as pd

    from broadening.providers.yahoo import YahooRaw

    t = ticker.upper()
    hist_path = PAYLOADS / f"yahoo_{t}_history.csv"
    if not hist_path.exists():
        cols = ["Open", "High", "Low", "Close", "Adj Close", "Volume", "Dividends", "Stock Splits"]
        return YahooRaw(pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], tz="America/New_York", name="Date")))
    hist = pd.read_csv(hist_path, index_col="Date")
    hist.index = pd.to_datetime(hist.index, utc=True).tz_convert("America/New_York")
    hist.index.name = "Date"
    if start is not None:
        hist = hist[hist.index.tz_localize(None).normalize() >= pd.Timestamp(start)]
    shares = None
    sp = PAYLOADS / f"yahoo_{t}_shares.csv"
    if sp.exists():
        s = pd.read_csv(sp)
        shares = pd.Series(s["Shares"].to_numpy(), index=pd.to_datetime(s["Date"], utc=True).dt.tz_convert("America/New_York"))
    ip = PAYLOADS / f"yahoo_{t}_info.json"
    info = json.loads(ip.read_text()) if ip.exists() else {}
    return YahooRaw(hist, shares, info)


def live_fixtures():
    """The ``server``, ``make_client`` and autouse ``_no_live_env`` fixtures, for test modules
    outside ``tests/providers`` that drive the live sources (``tests/test_live.py``)."""
    import pytest

    from broadening.providers.http import HttpClient

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

    return server, make_client, _no_live_env

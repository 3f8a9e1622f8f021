"""One small HTTP layer shared by every live provider.

:class:`HttpClient` adds to :mod:`requests`:

- an **on-disk cache** keyed by method, URL and query parameters (a second pull of the
  same range makes no request). Bodies are stored gzip-compressed under
  ``$BROADENING_CACHE_DIR`` (default ``~/.cache/broadening/http``), one file per
  request plus a small JSON sidecar (URL, time fetched). Entries older than
  ``$BROADENING_CACHE_TTL`` seconds (default 86400, one day; ``inf`` = never expire) are
  fetched again; ``refresh=True`` ignores the cache for reads but still writes it.
  Only successful (2xx) responses are cached.
- **timeouts** (``$BROADENING_HTTP_TIMEOUT`` seconds, default 30);
- **retries** with exponential backoff on HTTP 429 and 5xx, connection errors and
  timeouts (``$BROADENING_HTTP_RETRIES`` extra attempts, default 4; first wait
  ``$BROADENING_HTTP_BACKOFF`` seconds, default 1.0, doubling, capped at 60 s). A
  ``Retry-After`` header (seconds or an HTTP date) is honoured, capped at
  ``max_retry_after`` (default 120 s);
- a **per-key rate limit** (requests per second; e.g. SEC's "no more than 10 requests
  per second" shared by www.sec.gov and data.sec.gov);
- a **User-Agent** on every request;
- **fail fast**: once ``max_consecutive_failures`` requests in a row to one host (rate
  key) have failed for good (after their retries: no connection, timeouts, 5xx), the
  host is treated as down and further requests to it raise :class:`SourceDownError` at
  once, without touching the network; a success or a 404 (the host answers) resets the
  count. A pull of 800 tickers against an unreachable source thus costs one request's
  retries, not 800.

Errors are :class:`ProviderError` subclasses whose message names the URL (and the
ticker or series when the caller passes ``label``). ``stats`` counts real requests,
cache hits and retries so a pull can report them.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from broadening.errors import BroadeningError

CACHE_DIR_ENV = "BROADENING_CACHE_DIR"
CACHE_TTL_ENV = "BROADENING_CACHE_TTL"
TIMEOUT_ENV = "BROADENING_HTTP_TIMEOUT"
RETRIES_ENV = "BROADENING_HTTP_RETRIES"
BACKOFF_ENV = "BROADENING_HTTP_BACKOFF"

DEFAULT_USER_AGENT = "broadening/0.1 (+https://github.com/broadening)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class ProviderError(BroadeningError):
    """A live source failed (names the URL and, when known, the ticker or series)."""

    def __init__(self, message: str, *, url: str | None = None, label: str | None = None, status: int | None = None):
        self.url = url
        self.label = label
        self.status = status
        super().__init__(message)


class HttpError(ProviderError):
    """A request failed for good (after retries, or with a non-retryable status)."""


class NotFoundError(HttpError):
    """HTTP 404: the ticker, series or file does not exist at the source."""


class SourceDownError(HttpError):
    """Several requests in a row to one host failed: the source is treated as down."""


class MalformedResponseError(ProviderError):
    """The response arrived but is not in the expected format."""


def env_float(name: str, default: float) -> float:
    """The number in environment variable ``name`` (``default`` when unset or blank).

    Raises
    ------
    BroadeningError
        The variable holds something other than a number (named in the message).
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise BroadeningError(f"${name}: expected a number, got {raw!r}") from None


def default_cache_dir() -> Path:
    """``$BROADENING_CACHE_DIR``, else ``~/.cache/broadening/http``."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "broadening" / "http"


def _describe(url: str, label: str | None) -> str:
    return f"{label} ({url})" if label else url


@dataclass
class Response:
    """A finished response: status, body bytes, and whether it came from the cache."""

    url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    from_cache: bool = False

    @property
    def text(self) -> str:
        return self.content.decode("utf-8-sig", errors="replace")

    def json(self, label: str | None = None):
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedResponseError(
                f"{_describe(self.url, label)}: expected JSON, got {self.content[:60]!r}... ({exc})",
                url=self.url, label=label,
            ) from None


@dataclass
class HttpStats:
    """Counts of what one client did."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "cache_hits": self.cache_hits, "retries": self.retries, "failures": self.failures}


class HttpClient:
    """Cached, retrying, rate-limited GET requests.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Cache directory (default :func:`default_cache_dir`). ``False`` disables the cache.
    user_agent : str, optional
        User-Agent header (default ``broadening/0.1``).
    timeout : float, optional
        Seconds per request (connect and read); default ``$BROADENING_HTTP_TIMEOUT`` or 30.
    retries : int, optional
        Extra attempts after a retryable failure; default ``$BROADENING_HTTP_RETRIES`` or 4.
    backoff : float, optional
        First wait in seconds, doubled per attempt; default ``$BROADENING_HTTP_BACKOFF`` or 1.
    max_backoff : float, default 60
        Cap of one exponential-backoff wait.
    max_retry_after : float, default 120
        Cap of a server's ``Retry-After``.
    cache_ttl : float, optional
        Seconds a cached response stays fresh; default ``$BROADENING_CACHE_TTL`` or 86400.
    rate_limits : mapping of str to float, optional
        Requests per second per rate key (see :meth:`get`'s ``rate_key``).
    sleep : callable, optional
        Replaces :func:`time.sleep` (tests).
    session : requests.Session, optional
    max_consecutive_failures : int, default 3
        Requests in a row to one host that may fail for good before the host is treated
        as down (:class:`SourceDownError`); ``0`` never gives up on a host.
    """

    def __init__(
        self,
        *,
        cache_dir: str | Path | bool | None = None,
        user_agent: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        max_backoff: float = 60.0,
        max_retry_after: float = 120.0,
        cache_ttl: float | None = None,
        rate_limits: Mapping[str, float] | None = None,
        sleep: Callable[[float], None] | None = None,
        session=None,
        max_consecutive_failures: int = 3,
    ) -> None:
        if cache_dir is False:
            self.cache_dir = None
        else:
            self.cache_dir = Path(cache_dir).expanduser() if cache_dir not in (None, True) else default_cache_dir()
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self.timeout = timeout if timeout is not None else env_float(TIMEOUT_ENV, 30.0)
        self.retries = int(retries if retries is not None else env_float(RETRIES_ENV, 4))
        self.backoff = backoff if backoff is not None else env_float(BACKOFF_ENV, 1.0)
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.cache_ttl = cache_ttl if cache_ttl is not None else env_float(CACHE_TTL_ENV, 86400.0)
        self.rate_limits: dict[str, float] = dict(rate_limits or {})
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._sleep = sleep or time.sleep
        self._session = session
        self.max_consecutive_failures = max_consecutive_failures
        self._down: dict[str, tuple[int, str]] = {}  # bucket -> (failures in a row, last reason)
        self.stats = HttpStats()

    # -- plumbing ---------------------------------------------------------------------
    @property
    def session(self):
        if self._session is None:
            try:
                import requests
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise BroadeningError(
                    "live data needs the 'live' extra: pip install 'broadening[live]' (requests is missing)"
                ) from exc
            self._session = requests.Session()
        return self._session

    def set_rate_limit(self, key: str, per_second: float) -> None:
        """Allow at most ``per_second`` requests per second under ``key``."""
        self.rate_limits[key] = float(per_second)

    def _wait_rate(self, key: str) -> None:
        rate = self.rate_limits.get(key)
        if not rate:
            return
        interval = 1.0 / rate
        with self._lock:
            now = time.monotonic()
            due = self._last.get(key, -1e18) + interval
            wait = max(0.0, due - now)
            self._last[key] = max(now, due)
        if wait > 0:
            time.sleep(wait)  # real time: the limit protects a real server

    @staticmethod
    def cache_key(url: str, params: Mapping[str, object] | None = None, method: str = "GET") -> str:
        """The cache key of a request: SHA-256 of method, URL and sorted parameters."""
        query = urlencode(sorted((str(k), str(v)) for k, v in (params or {}).items()))
        return hashlib.sha256(f"{method} {url}?{query}".encode()).hexdigest()

    def _cache_paths(self, key: str) -> tuple[Path, Path]:
        assert self.cache_dir is not None
        d = self.cache_dir / key[:2]
        return d / f"{key}.gz", d / f"{key}.json"

    def _cache_read(self, key: str) -> tuple[bytes, dict] | None:
        if self.cache_dir is None:
            return None
        body, meta = self._cache_paths(key)
        try:
            info = json.loads(meta.read_text())
            if time.time() - float(info.get("fetched_at", 0)) > self.cache_ttl:
                return None
            return gzip.decompress(body.read_bytes()), info
        except (OSError, ValueError, EOFError, gzip.BadGzipFile):
            return None

    def _cache_write(self, key: str, url: str, params, content: bytes, headers: Mapping[str, str]) -> None:
        if self.cache_dir is None:
            return
        body, meta = self._cache_paths(key)
        body.parent.mkdir(parents=True, exist_ok=True)
        suffix = f".{os.getpid()}.{threading.get_ident()}.tmp"
        tmp_b, tmp_m = body.with_name(body.name + suffix), meta.with_name(meta.name + suffix)
        tmp_b.write_bytes(gzip.compress(content, compresslevel=5))
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        tmp_m.write_text(json.dumps({"url": url, "params": dict(params or {}), "fetched_at": time.time(), "content_type": ctype}))
        os.replace(tmp_b, body)  # body first: a sidecar never points at a missing body
        os.replace(tmp_m, meta)

    def _retry_wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            secs: float | None
            try:
                secs = float(retry_after)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(retry_after)
                    secs = when.timestamp() - time.time()
                except (TypeError, ValueError, IndexError):
                    secs = None
            if secs is not None:
                return min(max(secs, 0.0), self.max_retry_after)
        return min(self.backoff * (2 ** attempt), self.max_backoff)

    # -- the one public verb -----------------------------------------------------------
    def get(
        self,
        url: str,
        params: Mapping[str, object] | None = None,
        *,
        secret_params: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        label: str | None = None,
        rate_key: str | None = None,
        refresh: bool = False,
        cache: bool = True,
    ) -> Response:
        """GET ``url`` (cached, retried, rate-limited).

        Parameters
        ----------
        url : str
        params : mapping, optional
            Query parameters (part of the cache key).
        secret_params : mapping, optional
            Query parameters sent but kept out of the cache key and the cache sidecar
            (API keys).
        headers : mapping, optional
            Extra headers (the User-Agent is always set).
        label : str, optional
            What is being fetched (a ticker, a series id), for error messages.
        rate_key : str, optional
            Rate-limit bucket; defaults to the URL's host.
        refresh : bool, default False
            Skip the cache read (the fresh response still replaces the cached one).
        cache : bool, default True
            Whether to use the cache at all for this request.

        Raises
        ------
        NotFoundError
            HTTP 404.
        HttpError
            Any other failure once retries are exhausted, or a non-retryable 4xx.
        """
        key = self.cache_key(url, params)
        if cache and not refresh:
            hit = self._cache_read(key)
            if hit is not None:
                self.stats.cache_hits += 1
                return Response(url, 200, hit[0], {"content-type": hit[1].get("content_type", "")}, from_cache=True)

        hdrs = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"}
        hdrs.update(headers or {})
        bucket = rate_key or urlsplit(url).netloc
        what = _describe(url, label)
        n_down, why = self._down.get(bucket, (0, ""))
        if self.max_consecutive_failures and n_down >= self.max_consecutive_failures:
            self.stats.failures += 1
            raise SourceDownError(
                f"{what}: not requested: the last {n_down} requests to {urlsplit(url).netloc} failed "
                f"({why}); the source is treated as down", url=url, label=label,
            )
        try:
            resp = self._get(url, params, secret_params, hdrs, label, bucket, what, cache, key)
        except NotFoundError:
            self._down.pop(bucket, None)
            raise
        except HttpError as exc:  # no answer, 5xx, or refused (403: e.g. the SEC blocking a client)
            self._down[bucket] = (n_down + 1, str(exc).rsplit(": ", 1)[-1][:120])
            raise
        self._down.pop(bucket, None)
        return resp

    def _get(self, url, params, secret_params, hdrs, label, bucket, what, cache, key) -> Response:
        import requests

        last_problem = "no attempt made"
        for attempt in range(self.retries + 1):
            self._wait_rate(bucket)
            self.stats.requests += 1
            retry_after = None
            try:
                send = {**dict(params or {}), **dict(secret_params or {})} or None
                r = self.session.get(url, params=send, headers=hdrs, timeout=self.timeout)
            except requests.Timeout:
                last_problem = f"timed out after {self.timeout:g}s"
            except requests.ConnectionError as exc:
                last_problem = f"connection failed ({type(exc).__name__})"
            except requests.RequestException as exc:
                self.stats.failures += 1
                raise HttpError(f"{what}: request failed: {exc}", url=url, label=label) from None
            else:
                if 200 <= r.status_code < 300:
                    content = r.content
                    if cache:
                        self._cache_write(key, url, params, content, r.headers)
                    return Response(url, r.status_code, content, dict(r.headers))
                if r.status_code == 404:
                    self.stats.failures += 1
                    raise NotFoundError(f"{what}: not found (HTTP 404)", url=url, label=label, status=404)
                if r.status_code not in RETRY_STATUS:
                    self.stats.failures += 1
                    raise HttpError(
                        f"{what}: HTTP {r.status_code} {r.reason or ''}".rstrip() + f": {r.text[:200]!r}",
                        url=url, label=label, status=r.status_code,
                    )
                last_problem = f"HTTP {r.status_code}"
                retry_after = r.headers.get("Retry-After")
            if attempt < self.retries:
                self.stats.retries += 1
                self._sleep(self._retry_wait(attempt, retry_after))
        self.stats.failures += 1
        status = int(last_problem.split()[1]) if last_problem.startswith("HTTP ") else None
        raise HttpError(
            f"{what}: {last_problem} (gave up after {self.retries + 1} attempts)", url=url, label=label, status=status
        )

    def get_json(self, url: str, params: Mapping[str, object] | None = None, *, label: str | None = None, **kw):
        """GET and decode JSON (:class:`MalformedResponseError` if it is not JSON)."""
        resp = self.get(url, params, label=label, **kw)
        try:
            return resp.json(label)
        except MalformedResponseError:
            self.forget(url, params)  # never keep a broken body in the cache
            raise

    def forget(self, url: str, params: Mapping[str, object] | None = None) -> None:
        """Drop a cached response (e.g. one that turned out malformed)."""
        if self.cache_dir is None:
            return
        for p in self._cache_paths(self.cache_key(url, params)):
            try:
                p.unlink()
            except OSError:
                pass

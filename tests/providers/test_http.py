"""The shared HTTP layer: cache, retries with backoff, Retry-After, timeouts, rate limit, errors."""

from __future__ import annotations

import time

import pytest
from localserver import Reply

from broadening.providers.http import (
    HttpClient,
    HttpError,
    MalformedResponseError,
    NotFoundError,
    default_cache_dir,
)


def test_get_sends_user_agent_and_caches(server, make_client):
    server.routes["/data.json"] = Reply(200, b'{"a": 1}', {"Content-Type": "application/json"})
    c = make_client(user_agent="Test Agent test@example.com")
    assert c.get_json(f"{server.url}/data.json", {"x": 1}) == {"a": 1}
    assert server.seen[0].headers["User-Agent"] == "Test Agent test@example.com"
    assert server.seen[0].query == {"x": ["1"]}
    # same URL and params: served from disk, no request
    assert c.get_json(f"{server.url}/data.json", {"x": 1}) == {"a": 1}
    assert server.count() == 1
    assert c.stats.requests == 1 and c.stats.cache_hits == 1
    # other params: a new request
    c.get(f"{server.url}/data.json", {"x": 2})
    assert server.count() == 2
    # a second client on the same cache dir makes no request either
    c2 = make_client()
    assert c2.get(f"{server.url}/data.json", {"x": 1}).from_cache
    assert server.count() == 2


def test_cache_ttl_and_refresh(server, make_client):
    server.routes["/v"] = Reply(200, b"1")
    c = make_client(cache_ttl=0.0)
    c.get(f"{server.url}/v")
    time.sleep(0.01)
    c.get(f"{server.url}/v")
    assert server.count() == 2  # expired
    c = make_client()
    c.get(f"{server.url}/v", refresh=True)
    assert server.count() == 3


def test_cache_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BROADENING_CACHE_DIR", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"
    assert HttpClient().cache_dir == tmp_path / "x"
    monkeypatch.delenv("BROADENING_CACHE_DIR")
    assert str(default_cache_dir()).endswith(".cache/broadening/http")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retries_on_429_and_5xx_then_succeeds(server, make_client, status):
    server.routes["/flaky"] = [Reply(status, b"busy"), Reply(status, b"busy"), Reply(200, b"ok")]
    c = make_client()
    r = c.get(f"{server.url}/flaky", label="AAPL")
    assert r.content == b"ok"
    assert server.count("/flaky") == 3
    assert c.stats.retries == 2
    assert c.sleeps == [0.01, 0.02]  # exponential backoff


def test_retry_after_is_honoured(server, make_client):
    server.routes["/slow"] = [Reply(429, b"", {"Retry-After": "7"}), Reply(200, b"ok")]
    c = make_client()
    assert c.get(f"{server.url}/slow").content == b"ok"
    assert c.sleeps == [7.0]
    server.routes["/slow2"] = [Reply(503, b"", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), Reply(200, b"ok")]
    c.get(f"{server.url}/slow2")
    assert c.sleeps[-1] == 0.0  # a date in the past: retry at once
    c2 = make_client(max_retry_after=3)
    server.routes["/slow3"] = [Reply(429, b"", {"Retry-After": "3600"}), Reply(200, b"ok")]
    c2.get(f"{server.url}/slow3")
    assert c2.sleeps == [3]


def test_gives_up_with_a_clear_error(server, make_client):
    server.routes["/down"] = Reply(503, b"down")
    c = make_client(retries=2)
    with pytest.raises(HttpError) as err:
        c.get(f"{server.url}/down", label="MSFT")
    msg = str(err.value)
    assert "MSFT" in msg and "/down" in msg and "HTTP 503" in msg and "3 attempts" in msg
    assert err.value.status == 503
    assert server.count("/down") == 3
    # nothing cached: the next call asks again
    with pytest.raises(HttpError):
        c.get(f"{server.url}/down")
    assert server.count("/down") == 6


def test_timeout_is_retried(server, make_client):
    server.routes["/hang"] = [Reply(200, b"late", delay=1.0), Reply(200, b"ok")]
    c = make_client(timeout=0.2)
    assert c.get(f"{server.url}/hang").content == b"ok"
    assert c.stats.retries == 1
    server.routes["/hang2"] = Reply(200, b"late", delay=0.6)
    c = make_client(timeout=0.1, retries=1)
    with pytest.raises(HttpError, match="timed out"):
        c.get(f"{server.url}/hang2", label="NVDA")


def test_404_and_other_4xx_are_not_retried(server, make_client):
    c = make_client()
    with pytest.raises(NotFoundError, match="ZZZZ.*404"):
        c.get(f"{server.url}/missing", label="ZZZZ")
    assert server.count("/missing") == 1
    server.routes["/forbidden"] = Reply(403, b"Undeclared Automated Tool")
    with pytest.raises(HttpError, match="403"):
        c.get(f"{server.url}/forbidden")
    assert server.count("/forbidden") == 1


def test_connection_refused_is_a_clear_error(make_client):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = make_client(retries=1)
    with pytest.raises(HttpError, match="connection failed"):
        c.get(f"http://127.0.0.1:{port}/x", label="T")


def test_malformed_json_is_not_cached(server, make_client):
    server.routes["/bad.json"] = [Reply(200, b"{not json"), Reply(200, b'{"ok": true}')]
    c = make_client()
    with pytest.raises(MalformedResponseError, match="bad.json.*expected JSON"):
        c.get_json(f"{server.url}/bad.json")
    assert c.get_json(f"{server.url}/bad.json") == {"ok": True}
    assert server.count() == 2


def test_rate_limit_spaces_requests(server, make_client):
    server.routes["/r"] = Reply(200, b"x")
    c = make_client(cache_dir=False, rate_limits={"sec": 20})
    t0 = time.monotonic()
    for _ in range(6):
        c.get(f"{server.url}/r", rate_key="sec")
    elapsed = time.monotonic() - t0
    assert elapsed >= 5 / 20 - 0.01
    # as received by the server (scheduling jitter moves single arrivals, not the span)
    span = server.seen[-1].time - server.seen[0].time
    assert span >= 5 / 20 - 0.03


def test_secret_params_stay_out_of_the_cache(server, make_client, tmp_path):
    server.routes["/api"] = Reply(200, b"{}")
    c = make_client()
    c.get(f"{server.url}/api", {"series_id": "X"}, secret_params={"api_key": "SECRET123"})
    assert server.seen[0].query["api_key"] == ["SECRET123"]
    for p in (tmp_path / "cache").rglob("*"):
        if p.is_file():
            assert b"SECRET123" not in p.read_bytes()
    # the key does not change the cache key
    c.get(f"{server.url}/api", {"series_id": "X"}, secret_params={"api_key": "OTHER"})
    assert server.count() == 1


def test_a_host_that_keeps_failing_is_treated_as_down(server, make_client):
    from broadening.providers.http import SourceDownError

    server.routes["/x"] = Reply(503)
    server.routes["/ok"] = Reply(200, b"{}")
    c = make_client(retries=1)
    for i in range(3):
        with pytest.raises(HttpError, match="HTTP 503"):
            c.get(f"{server.url}/x", {"i": i})
    n = server.count()
    with pytest.raises(SourceDownError, match="the last 3 requests .* failed"):
        c.get(f"{server.url}/ok")
    assert server.count() == n  # no request made
    # a 404 means the host answers: it resets the count (another client, same server)
    c2 = make_client(retries=0)
    for i in range(2):
        with pytest.raises(HttpError):
            c2.get(f"{server.url}/x", {"j": i})
    with pytest.raises(NotFoundError):
        c2.get(f"{server.url}/missing")
    with pytest.raises(HttpError, match="HTTP 503"):  # counted again from zero, not down yet
        c2.get(f"{server.url}/x", {"j": 9})
    assert c2.get(f"{server.url}/ok").status == 200


# -- issue #17 ------------------------------------------------------------------------------------
def test_an_unreadable_retry_after_falls_back_to_the_backoff(server, make_client):
    server.routes["/odd"] = [Reply(503, b"", {"Retry-After": "soon"}), Reply(200, b"ok")]
    c = make_client()
    assert c.get(f"{server.url}/odd").content == b"ok" and c.sleeps == [0.01]


def test_an_uncached_request_and_a_cacheless_client_keep_nothing(server, make_client, tmp_path):
    server.routes["/live"] = Reply(200, b'{"price": 1}')
    c = make_client()
    c.get(f"{server.url}/live", cache=False)
    c.get(f"{server.url}/live", cache=False)
    assert server.count("/live") == 2 and not (tmp_path / "cache").exists()
    server.routes["/bad"] = Reply(200, b"<html>not json</html>")
    nocache = make_client(cache_dir=False)
    with pytest.raises(MalformedResponseError):
        nocache.get_json(f"{server.url}/bad")  # nothing cached to forget: no error about the cache
    assert nocache.get(f"{server.url}/live").json() == {"price": 1}

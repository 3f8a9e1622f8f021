"""FRED: fredgraph CSV and the JSON API into ``series`` rows, '.' as missing, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
from localserver import Reply, payload

from broadening.providers.fred import DEFAULT_SERIES, FredProvider, parse_fredgraph_csv
from broadening.providers.http import HttpError, MalformedResponseError, NotFoundError
from broadening.schema import validate_table


def fredgraph(query):
    sid = query.get("id", [""])[0]
    try:
        return Reply(200, payload(f"fred_{sid}.csv"), {"Content-Type": "text/csv"})
    except FileNotFoundError:
        return Reply(404, b"<html>Series not found</html>")


@pytest.fixture
def fred(server, make_client):
    server.routes["/graph/fredgraph.csv"] = fredgraph
    return FredProvider(make_client(), base_url=server.url)


def test_default_series_from_csv(fred, server):
    df = fred.fetch(DEFAULT_SERIES)
    validate_table("series", df)
    assert set(df["series_id"]) == {"BUSLOANS", "BAMLH0A0HYM2"}
    hy = df[df["series_id"] == "BAMLH0A0HYM2"]
    assert len(hy) == 5  # the '.' holiday is dropped
    assert hy["date"].min() == pd.Timestamp("2024-01-02")
    assert hy["value"].iloc[0] == pytest.approx(3.39)
    bl = df[df["series_id"] == "BUSLOANS"].set_index("date")["value"]
    assert bl[pd.Timestamp("2024-03-01")] == pytest.approx(2767.4591)
    assert server.seen[0].query["id"] == ["BUSLOANS"]


def test_start_and_cache(fred, server):
    df = fred.series("BUSLOANS", start="2024-01-01")
    assert df["date"].min() == pd.Timestamp("2024-01-01") and len(df) == 3
    assert server.seen[0].query["cosd"] == ["2024-01-01"]
    fred.series("BUSLOANS", start="2024-01-01")
    assert server.count() == 1 and fred.client.stats.cache_hits == 1


def test_older_date_header_and_lowercase_id():
    df = parse_fredgraph_csv("DATE,BUSLOANS\n2024-01-01,1.5\n2024-02-01,.\n", "BUSLOANS")
    assert df["value"].tolist() == [1.5]


def test_api_path_when_key_set(server, make_client, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "abc123")
    server.routes["/fred/series/observations"] = Reply(200, payload("fred_observations_BAMLH0A0HYM2.json"))
    fred = FredProvider(make_client(), api_base_url=server.url)
    df = fred.series("bamlh0a0hym2")
    assert df["series_id"].unique().tolist() == ["BAMLH0A0HYM2"]
    assert df["value"].tolist() == pytest.approx([3.39, 3.44, 3.40])
    q = server.seen[0].query
    assert q["series_id"] == ["BAMLH0A0HYM2"] and q["api_key"] == ["abc123"] and q["file_type"] == ["json"]


def test_unknown_series_names_it(fred):
    with pytest.raises(NotFoundError, match="NOPE"):
        fred.series("NOPE")


def test_malformed_csv_is_reported_and_not_cached(server, make_client):
    server.routes["/graph/fredgraph.csv"] = [
        Reply(200, b"<!DOCTYPE html><html>maintenance</html>"),
        Reply(200, b"observation_date,BUSLOANS\n2024-01-01,abc\n"),
        Reply(200, payload("fred_BUSLOANS.csv")),
    ]
    fred = FredProvider(make_client(), base_url=server.url)
    with pytest.raises(MalformedResponseError, match="BUSLOANS.*expected a CSV"):
        fred.series("BUSLOANS")
    with pytest.raises(MalformedResponseError, match="row 2"):
        fred.series("BUSLOANS")
    assert len(fred.series("BUSLOANS")) == 6


def test_malformed_api_json(server, make_client):
    server.routes["/fred/series/observations"] = Reply(200, b'{"error_code": 400, "error_message": "Bad Request"}')
    fred = FredProvider(make_client(), api_base_url=server.url, api_key="k")
    with pytest.raises(MalformedResponseError, match="observations"):
        fred.series("BUSLOANS")


def test_5xx_retried_then_ok(server, make_client):
    server.routes["/graph/fredgraph.csv"] = [Reply(500), Reply(502), Reply(200, payload("fred_BUSLOANS.csv"))]
    fred = FredProvider(make_client(), base_url=server.url)
    assert len(fred.series("BUSLOANS")) == 6
    server.routes["/graph/fredgraph.csv"] = Reply(503)
    with pytest.raises(HttpError, match="FRED series BAMLH0A0HYM2"):
        fred.series("BAMLH0A0HYM2")


def test_base_url_from_env(server, make_client, monkeypatch):
    monkeypatch.setenv("BROADENING_FRED_BASE_URL", server.url)
    server.routes["/graph/fredgraph.csv"] = fredgraph
    assert len(FredProvider(make_client()).series("BUSLOANS")) == 6


@pytest.mark.live
def test_live_fred_csv(tmp_path):  # pragma: no cover - needs the network
    from broadening.providers.http import HttpClient

    df = FredProvider(HttpClient(cache_dir=tmp_path)).series("BAMLH0A0HYM2", start="2024-01-01")
    assert len(df) > 100 and df["value"].between(1, 30).all()

"""FRED: fredgraph CSV and the ALFRED API into ``series`` rows dated by publication, '.' as
missing, short histories noted, clear errors. ``fred_BAA10Y.csv.gz`` (a real fredgraph
download) and ``alfred_UNRATE.json`` (a real ALFRED response) are recorded payloads, see
payloads/README.md; the BUSLOANS/BAMLH0A0HYM2 files are hand-written edge cases."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from localserver import Reply, payload

from broadening.providers.fred import (
    DEFAULT_SERIES,
    FredProvider,
    parse_alfred,
    parse_fredgraph_csv,
)
from broadening.providers.http import HttpError, MalformedResponseError, NotFoundError
from broadening.schema import validate_table


def fredgraph(query):
    sid = query.get("id", [""])[0]
    for name, read in ((f"fred_{sid}.csv", payload), (f"fred_{sid}.csv.gz", lambda n: gzip.decompress(payload(n)))):
        try:
            return Reply(200, read(name), {"Content-Type": "text/csv"})
        except FileNotFoundError:
            pass
    return Reply(404, b"<html>Series not found</html>")


@pytest.fixture
def fred(server, make_client):
    server.routes["/graph/fredgraph.csv"] = fredgraph
    return FredProvider(make_client(), base_url=server.url)


def test_default_series_from_csv_are_dated_by_release_lag(fred, server):
    df = fred.fetch(DEFAULT_SERIES)
    validate_table("series", df)
    assert set(df["series_id"]) == {"BUSLOANS", "BAMLH0A0HYM2", "BAA10Y"}
    hy = df[df["series_id"] == "BAMLH0A0HYM2"]
    assert len(hy) == 5  # the '.' holiday is dropped
    assert hy["date"].min() == pd.Timestamp("2024-01-03")  # observed 2024-01-02, out the next day
    assert hy["value"].iloc[0] == pytest.approx(3.39)
    bl = df[df["series_id"] == "BUSLOANS"].set_index("date")["value"]
    # March 2024's monthly average (dated 2024-03-01) is usable only 45 days later
    assert bl[pd.Timestamp("2024-04-15")] == pytest.approx(2767.4591)
    assert pd.Timestamp("2024-03-01") not in bl.index
    assert server.seen[0].query["id"] == ["BUSLOANS"]
    assert fred.dating["BUSLOANS"].startswith("observation date + 45 days")
    # the real BAA10Y download: blank holidays dropped, 2010-01-04's 2.54 usable on 2010-01-05
    baa = df[df["series_id"] == "BAA10Y"].set_index("date")["value"]
    assert baa.index[0] == pd.Timestamp("2010-01-05") and baa.iloc[0] == 2.54
    assert len(baa) == 2607 - 107 and baa.index[-1] == pd.Timestamp("2020-01-01")


def test_alfred_first_release_dated_by_its_realtime_start():
    # a real ALFRED response (UNRATE, real-time window 2018-01-01..2020-04-30, output_type 1)
    data = json.loads(payload("alfred_UNRATE.json"))
    s = parse_alfred(data, "UNRATE").set_index("date")["value"]
    assert s[pd.Timestamp("2019-02-01")] == 4.0  # January 2019, released Friday 2019-02-01
    assert s[pd.Timestamp("2018-04-06")] == 4.1  # March 2018 as first released (revised to 4.0 in 2019)
    assert s[pd.Timestamp("2018-01-05")] == 4.1  # December 2017, released 2018-01-05
    # older observations carry the window's first vintage date: dated by the 35-day lag instead
    assert s[pd.Timestamp("2017-12-06")] == 4.1  # November 2017
    assert s[pd.Timestamp("2016-10-06")] == 4.9  # September 2016's value in the first vintage
    assert pd.Timestamp("2019-01-01") not in s.index and len(s) == 48


def test_start_and_cache(fred, server):
    df = fred.series("BUSLOANS", start="2024-01-01")
    # December 2023 (published 2024-01-15) onwards; asked from 130 days earlier so a value
    # observed before the start but published after it is kept
    assert df["date"].min() == pd.Timestamp("2024-01-15") and len(df) == 4
    assert server.seen[0].query["cosd"] == ["2023-08-24"]
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
    # one vintage (2024-06-01) for all: older than ALFRED's window, so dated by the lag
    assert df["date"].tolist() == [pd.Timestamp(d) for d in ("2024-01-03", "2024-01-04", "2024-01-05")]
    q = server.seen[0].query
    assert q["series_id"] == ["BAMLH0A0HYM2"] and q["api_key"] == ["abc123"] and q["file_type"] == ["json"]
    assert q["realtime_start"] == ["1776-07-04"] and q["output_type"] == ["4"]


def test_short_history_is_noted(fred):
    fred.series("BAMLH0A0HYM2", start="2020-01-01")
    assert "only from 2024-01-02" in fred.notes["BAMLH0A0HYM2"]
    fred.series("BAA10Y", start="2010-01-01")
    assert "BAA10Y" not in fred.notes


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


# -- issue #17 ------------------------------------------------------------------------------------
def test_release_lag_of_a_series_not_in_the_table_follows_its_spacing():
    from broadening.providers.fred import default_lag

    assert default_lag("BUSLOANS", pd.Series([], dtype="datetime64[ns]")) == 45  # from the table
    for freq, lag in (("B", 1), ("W-FRI", 7), ("MS", 45), ("QS", 120)):
        assert default_lag("MYSERIES", pd.Series(pd.date_range("2020-01-01", periods=12, freq=freq))) == lag, freq
    assert default_lag("MYSERIES", pd.Series([pd.Timestamp("2020-01-01")])) == 1  # one observation: daily


def test_api_path_with_a_start_asks_from_a_lag_earlier(server, make_client):
    server.routes["/fred/series/observations"] = Reply(200, payload("fred_observations_BAMLH0A0HYM2.json"))
    fred = FredProvider(make_client(), api_base_url=server.url, api_key="k")
    fred.series("BAMLH0A0HYM2", start="2024-01-01")
    assert server.seen[0].query["observation_start"] == ["2023-08-24"]


def test_alfred_responses_that_cannot_be_read():
    data = json.loads(payload("alfred_UNRATE.json"))
    with pytest.raises(MalformedResponseError, match=r"^FRED series UNRATE \(ALFRED\): expected an 'observations' list"):
        parse_alfred([data], "UNRATE")
    bad = json.loads(json.dumps(data))
    bad["observations"][3]["realtime_start"] = "2018-13-01"
    with pytest.raises(MalformedResponseError, match=r"^FRED series UNRATE \(ALFRED\): unreadable realtime_start"):
        parse_alfred(bad, "UNRATE")
    # every value missing ('.'): no rows, in the canonical shape
    empty = {"observations": [{**o, "value": "."} for o in data["observations"]]}
    got = parse_alfred(empty, "UNRATE")
    assert got.empty and list(got.columns) == ["series_id", "date", "value"]


def test_a_one_column_csv_is_refused():
    with pytest.raises(MalformedResponseError, match=r"expected a CSV 'observation_date,BUSLOANS', got 'observation_date\\n"):
        parse_fredgraph_csv("observation_date\n2024-01-01\n", "BUSLOANS")

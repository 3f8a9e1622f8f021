"""The report's headline attribution: Brinson-Fachler against cap weight, checked on a hand-built market.

The reference below recomputes the sector attribution from the market's own closes, the two
backtests' rebalance weights and their daily returns, without the engine's or the Brinson
module's helpers: per rebalance period the group weights and returns, the Brinson-Fachler
effects, the net period returns compounded from the daily returns, and Carino's linking.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from broadening.market import Market
from broadening.playbook.suite import run_backtests
from broadening.report import build_report
from broadening.report.brinson_section import RAW_TITLE
from broadening.results import load_backtest, save_backtest
from broadening.warehouse import Warehouse

N_NAMES = 24
START = "2023-01-02"
SECTOR_OF = {f"S{i}": ("Technology", "Financials", "Industrials")[i % 3] for i in range(N_NAMES)}
DRIFT = {"Technology": 0.0008, "Financials": -0.0002, "Industrials": 0.0004}


@pytest.fixture
def closes() -> dict[str, list[float]]:
    rng = np.random.default_rng(11)
    return {s: list(100 * np.cumprod(1 + DRIFT[sec] + rng.normal(0, 0.01, 400))) for s, sec in SECTOR_OF.items()}


@pytest.fixture
def market(closes, make_market) -> Market:
    # market caps 1.25^24 .. 1.25 (shares times a close near 100): the top names dominate cap weight
    return make_market(closes, shares={f"S{i}": 1.25 ** (N_NAMES - i) for i in range(N_NAMES)}, sectors=SECTOR_OF, start=START)


@pytest.fixture
def suite(market):
    return run_backtests(market)


def reference_sector_attribution(suite, closes) -> pd.DataFrame:
    """Linked allocation, selection, interaction and total per sector (and the ``total`` row with costs)."""
    dates = pd.bdate_range(START, periods=len(next(iter(closes.values()))))
    px = pd.DataFrame(closes, index=dates)
    pb, cw = suite.results["playbook"], suite.results["cap_weight"]
    ids = list(pb.ids)
    sector = np.array([SECTOR_OF[i] for i in ids])
    groups = sorted(set(sector))
    rebs = list(pb.rebalance_dates)
    ends = rebs[1:] + [suite.returns.index[-1]]
    effects = {e: [] for e in ("allocation", "selection", "interaction")}
    net, gross = [], []
    for r, (d0, d1) in enumerate(zip(rebs, ends, strict=True)):
        x = (px.loc[d1, ids] / px.loc[d0, ids] - 1.0).to_numpy()
        wp_j, wb_j, rp_j, rb_j = (np.zeros(len(groups)) for _ in range(4))
        for j, g in enumerate(groups):
            m = sector == g
            wp_j[j], wb_j[j] = pb.weights[r][m].sum(), cw.weights[r][m].sum()
            rb_j[j] = (cw.weights[r][m] * x[m]).sum() / wb_j[j] if wb_j[j] else np.nan
            rp_j[j] = (pb.weights[r][m] * x[m]).sum() / wp_j[j] if wp_j[j] else rb_j[j]
            rb_j[j] = rp_j[j] if not wb_j[j] else rb_j[j]
        # both books are fully invested here (no cash), so the sector weights sum to one
        assert wp_j.sum() == pytest.approx(1.0, abs=1e-12) and wb_j.sum() == pytest.approx(1.0, abs=1e-12)
        Rb = (wb_j * rb_j).sum()
        effects["allocation"].append((wp_j - wb_j) * (rb_j - Rb))
        effects["selection"].append(wb_j * (rp_j - rb_j))
        effects["interaction"].append((wp_j - wb_j) * (rp_j - rb_j))
        gross.append(((wp_j * rp_j).sum(), Rb))
        # the net period return: the rebalance's costs, then what the daily returns compound to up to
        # the next rebalance close, whose return includes the costs paid there (taken out again)
        inside = (suite.returns.index > d0) & (suite.returns.index <= d1)
        period = []
        for res, col in ((pb, "playbook"), (cw, "cap_weight")):
            c = res.costs.to_numpy()
            grown = np.prod(1.0 + suite.returns.loc[inside, col].to_numpy()) / (1.0 - c[r + 1] if r + 1 < len(c) else 1.0)
            period.append((1.0 - c[r]) * grown - 1.0)
        net.append(tuple(period))
    net_a, gross_a = np.array(net), np.array(gross)
    costs = (net_a[:, 0] - net_a[:, 1]) - (gross_a[:, 0] - gross_a[:, 1])
    rp, rb = net_a[:, 0], net_a[:, 1]
    Rp, Rb = np.prod(1 + rp) - 1, np.prod(1 + rb) - 1
    k_t = np.log((1 + rp) / (1 + rb)) / (rp - rb)
    k = np.log((1 + Rp) / (1 + Rb)) / (Rp - Rb)
    f = (k_t / k)[:, None]
    out = pd.DataFrame({e: (np.array(v) * f).sum(axis=0) for e, v in effects.items()}, index=groups)
    out["costs"] = 0.0
    out["total"] = out[["allocation", "selection", "interaction"]].sum(axis=1)
    out.loc["total"] = [*out[["allocation", "selection", "interaction"]].sum(), float((costs * f[:, 0]).sum()), Rp - Rb]
    return out


def _table(page: str, heading: str) -> list[list[str]]:
    """The cells of the table under ``<h3>heading</h3>``, row by row."""
    block = page.split(f"<h3>{heading}</h3>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", block, flags=re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
            for row in rows]


def test_the_reference_adds_up_to_the_daily_returns(suite, closes):
    ref = reference_sector_attribution(suite, closes)
    compounded = (1 + suite.returns).prod() - 1
    active = compounded["playbook"] - compounded["cap_weight"]
    tot = ref.loc["total"]
    assert tot["allocation"] + tot["selection"] + tot["interaction"] + tot["costs"] == pytest.approx(active, abs=1e-12)
    assert abs(active) > 1e-3 and abs(tot["costs"]) > 1e-5  # a tilted book that paid to trade
    # the module agrees with the reference to the last digit
    got = suite.brinson["sector"].by_group().drop(index="cash")
    np.testing.assert_allclose(got[["allocation", "selection", "interaction"]].to_numpy(),
                               ref.drop(index="total")[["allocation", "selection", "interaction"]].to_numpy(), rtol=0, atol=1e-13)


@pytest.mark.parametrize("source", ["suite", "stored"])
def test_report_shows_the_brinson_table_with_the_reference_numbers(suite, market, closes, tmp_path, source):
    shown = suite
    if source == "stored":
        with Warehouse(tmp_path / "w.duckdb") as wh:
            from broadening.config import load_config

            save_backtest(wh, suite, load_config(None))
            shown = load_backtest(wh)
        assert shown.brinson_frame is not None
    res = build_report(market, tmp_path / "r.html", suite=shown)
    page = res.path.read_text()
    ref = reference_sector_attribution(suite, closes)
    rows = _table(page, "By sector")
    assert rows[0] == ["Sector", "Playbook (avg)", "Cap weight (avg)", "Allocation", "Selection", "Interaction", "Total"]
    body = {r[0]: r for r in rows[1:]}
    assert set(body) == {"Financials", "Industrials", "Technology", "costs", "active return"}  # no all-zero cash row
    for g in ("Financials", "Industrials", "Technology"):
        want = [f"{ref.loc[g, e]:+.2%}" for e in ("allocation", "selection", "interaction", "total")]
        assert body[g][3:] == want, g
    tot = ref.loc["total"]
    assert body["active return"][3:] == [f"{tot[e]:+.2%}" for e in ("allocation", "selection", "interaction", "total")]
    assert body["costs"][-1] == f"{tot['costs']:+.2%}"
    assert _table(page, "By sleeve")[0][0] == "Sleeve"


def test_brinson_is_the_headline_and_raw_contributions_come_after(suite, market, tmp_path):
    page = build_report(market, tmp_path / "r.html", suite=suite).path.read_text()
    at = {k: page.index(k) for k in ('id="playbook"', 'id="attribution"', "<h3>By sleeve</h3>", "<h3>By sector</h3>",
                                     'id="chart-brinson-sleeve"', 'id="chart-brinson-sector"', 'id="chart-attribution"')}
    assert list(at) == sorted(at, key=at.get), at
    section = page[at['id="attribution"']:].split("</section>", 1)[0]
    assert "<h2>Active attribution vs cap weight</h2>" in section
    assert "Raw contributions, not active return" in section  # the caption under the raw chart
    assert RAW_TITLE in page  # its title, drawn from the figures' JSON at the end of the page
    # the playbook section no longer carries the sleeve contributions
    assert 'id="chart-attribution"' not in page[at['id="playbook"']:at['id="attribution"']]


def test_an_older_stored_backtest_without_brinson_still_reports(suite, market, tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        from broadening.config import load_config

        save_backtest(wh, suite, load_config(None))
        wh.con.execute("DROP TABLE result_backtest_brinson")  # as a version before it was stored wrote it
        old = load_backtest(wh)
    assert old is not None and old.brinson_frame is None
    page = build_report(market, tmp_path / "r.html", suite=old).path.read_text()
    section = page[page.index('id="attribution"'):].split("</section>", 1)[0]
    assert "run <code>broadening backtest</code> again" in section
    assert 'id="chart-attribution"' in section and "<h3>By sector</h3>" not in section

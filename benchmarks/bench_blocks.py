"""Past one machine: the block export and the block-wise passes against the in-memory ones.

Measures, on a warehouse (default: the demo, generated into a temporary directory):

- ``export --blocks``: time and size on disk (against the warehouse file);
- the index signals (C1 top-k, HHI, cap/equal index returns, above-MA breadth): in memory
  (``load_market`` + the signal functions) against block by block serially, on a local
  Dask cluster of 1 and of 2 workers; each with its peak RSS (per worker on Dask);
- the ex-top-k benchmark variants (``sweep.blockwise``) in memory against 2 workers;
- the whole market's panel sizes, for scale.

Each in-process run is a fresh spawned process, so its peak RSS is its own. Results are
checked equal (1e-10) before any number is printed.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_blocks.py [--warehouse W] [--block-size 500]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _peak_mib() -> float:
    """This process's peak RSS (MiB) since it started its program.

    ``VmHWM`` belongs to the address space, which exec replaces; ``ru_maxrss`` would carry
    the high-water mark of the parent a spawned process was forked from.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _in_memory(wh_path: str, q) -> None:
    from broadening.baskets import basket_returns, index_members
    from broadening.market import load_market
    from broadening.signals.breadth import breadth
    from broadening.signals.concentration import concentration, index_returns
    from broadening.warehouse import Warehouse

    t = time.perf_counter()
    with Warehouse(wh_path, read_only=True) as wh:
        m = load_market(wh)
    out = concentration(m)
    out["index_return"] = index_returns(m)
    out["equal_weight_return"] = basket_returns(m, index_members(m), "equal")
    out["above_ma_share"] = breadth(m)["above_ma_share"]
    panels = sum(a.nbytes for a in (m.close, m.total_return_index, m.volume, m.shares, m.returns, m.market_cap))
    q.put((time.perf_counter() - t, _peak_mib(), out, m.shape, m.close.nbytes, panels))


def _serial(directory: str, q) -> None:
    from broadening.signals.blockwise import blockwise_signals

    t = time.perf_counter()
    out = blockwise_signals(directory)
    q.put((time.perf_counter() - t, _peak_mib(), out))


def _in_memory_ex_top_k(wh_path: str, q) -> None:
    from broadening.backtest.costs import NO_COSTS
    from broadening.backtest.engine import Simulation
    from broadening.backtest.prices import PriceData
    from broadening.backtest.schedule import rebalance_positions
    from broadening.market import load_market
    from broadening.playbook.strategies import ex_top_k
    from broadening.warehouse import Warehouse

    t = time.perf_counter()
    with Warehouse(wh_path, read_only=True) as wh:
        m = load_market(wh)
    pos = rebalance_positions(m.dates, "monthly")
    out = {}
    for k, w in ((10, "cap"), (10, "equal"), (20, "cap")):
        st = ex_top_k("sp500", k, w)
        data = st.data(m, pos)
        sim = Simulation(PriceData.from_market(m, cols=data.cols), pos, costs=NO_COSTS)
        out[st.name] = sim.run(st.run_on(data).weights).returns
    q.put((time.perf_counter() - t, _peak_mib(), out))


def _spawn(fn, *args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=fn, args=(*args, q))
    p.start()
    got = q.get()
    p.join()
    return got


def _same(a, b) -> float:
    cols = [c for c in b if c in a]
    d = 0.0
    for c in cols:
        x, y = np.asarray(a[c], float), np.asarray(b[c], float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        d = max(d, float(np.nanmax(np.abs(x - y))) if np.isfinite(x).any() else 0.0)
    assert d <= 1e-10, d
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", help="a warehouse file (default: generate the demo)")
    ap.add_argument("--block-size", type=int, default=500)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_blocks_"))
    try:
        wh_path = args.warehouse
        if wh_path is None:
            from broadening.workspace import Workspace

            wh_path = str(tmp / "demo.duckdb")
            t = time.perf_counter()
            Workspace(wh_path).ingest_synthetic(seed=7, preset="demo")
            print(f"demo generated and ingested in {time.perf_counter() - t:.1f}s")
        run(wh_path, tmp, args.block_size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(wh_path: str, tmp: Path, block_size: int) -> None:
    from distributed import Client

    from broadening.export_blocks import export_blocks
    from broadening.signals.blockwise import blockwise_signals
    from broadening.sweep.blockwise import ExTopK, blockwise_ex_top_k
    from broadening.sweep.run import local_cluster
    from broadening.warehouse import Warehouse

    out = tmp / "blocks"
    with Warehouse(wh_path, read_only=True) as wh:
        t = time.perf_counter()
        ex = export_blocks(wh, out, block_size)
        t_export = time.perf_counter() - t
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    wh_size = Path(wh_path).stat().st_size
    print(f"export --blocks (B={block_size}): {t_export:.1f}s, {len(ex.blocks)} blocks, {size / 2**20:.0f} MiB "
          f"(warehouse file {wh_size / 2**20:.0f} MiB)")

    t_mem, rss_mem, ref, shape, one_panel, panels = _spawn(_in_memory, wh_path)
    print(f"whole market: {shape[0]:,} dates x {shape[1]:,} securities; one float panel {one_panel / 2**20:.0f} MiB, "
          f"the market's six float panels {panels / 2**20:.0f} MiB")
    print("\nindex signals          time (s)   peak RSS per process (MiB)")
    print(f"in memory              {t_mem:8.1f}   {rss_mem:8.0f}")
    t_ser, rss_ser, got = _spawn(_serial, str(out))
    print(f"blocks, serial         {t_ser:8.1f}   {rss_ser:8.0f}   (max |diff| {_same(got, ref):.1e})")
    for n in (1, 2):
        cluster = local_cluster(n)
        client = Client(cluster)
        try:
            idle = client.run(_peak_mib)
            t = time.perf_counter()
            got = blockwise_signals(out, client=client)
            dt = time.perf_counter() - t
            peaks = client.run(_peak_mib)
        finally:
            client.close()
            cluster.close()
        per = ", ".join(f"{peaks[w]:.0f} ({idle[w]:.0f} idle)" for w in peaks)
        print(f"blocks, {n} worker{'s' if n > 1 else ' '}      {dt:8.1f}   {per}   (max |diff| {_same(got, ref):.1e})")

    t_mem, rss_mem, ref = _spawn(_in_memory_ex_top_k, wh_path)
    variants = [ExTopK(10, "cap"), ExTopK(10, "equal"), ExTopK(20, "cap")]
    cluster = local_cluster(2)
    client = Client(cluster)
    try:
        idle = client.run(_peak_mib)
        t = time.perf_counter()
        got = blockwise_ex_top_k(out, variants, schedule="monthly", client=client)
        dt = time.perf_counter() - t
        peaks = client.run(_peak_mib)
    finally:
        client.close()
        cluster.close()
    print("\nex-top-k variants (3, monthly, no costs)")
    print(f"in memory              {t_mem:8.1f}   {rss_mem:8.0f}")
    per = ", ".join(f"{peaks[w]:.0f} ({idle[w]:.0f} idle)" for w in peaks)
    print(f"blocks, 2 workers      {dt:8.1f}   {per}   (max |diff| {_same(got, ref):.1e})")


if __name__ == "__main__":
    main()

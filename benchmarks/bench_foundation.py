"""Foundation speed: generate + ingest the demo market, load its full panel, research memory.

Targets (issue 2): demo generate+ingest <= 15 s; full as-of panel load <= 2 s;
research preset generates and ingests within 4 GB of memory.

Run: .venv/bin/python benchmarks/bench_foundation.py [--research]
Each preset runs in its own subprocess so peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from broadening.providers.synthetic import generate
from broadening.market import load_market
from broadening.warehouse import Warehouse
preset, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter(); mkt = generate(seed=7, preset=preset); t1 = time.perf_counter()
wh = Warehouse(path); wh.ingest(mkt.tables, source="synthetic", synthetic=True, replace=True, meta=mkt.meta); t2 = time.perf_counter()
rows = sum(len(v) for v in mkt.tables.values()); del mkt; wh.close()
wh = Warehouse(path, read_only=True); t3 = time.perf_counter(); m = load_market(wh); _ = m.market_cap; _ = m.members("sp500"); t4 = time.perf_counter()
print(json.dumps({"preset": preset, "rows": rows, "shape": list(m.shape), "generate_s": t1 - t0, "ingest_s": t2 - t1,
                  "generate_ingest_s": t2 - t0, "load_panel_s": t4 - t3,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}))
"""


def run(preset: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([sys.executable, "-c", CHILD, preset, str(Path(d) / "w.duckdb")],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    presets = ["tiny", "demo"] + (["research"] if "--research" in sys.argv else [])
    targets = {"demo": (15.0, 2.0, None), "research": (None, None, 4.0)}
    print(f"{'preset':<9}{'rows':>12}{'T x N':>14}{'generate':>10}{'ingest':>9}{'gen+ing':>9}{'load':>8}{'peak GB':>9}  target")
    for p in presets:
        r = run(p)
        gi, ld, mem = targets.get(p, (None, None, None))
        tgt = []
        if gi:
            tgt.append(f"gen+ing<={gi:.0f}s {'OK' if r['generate_ingest_s'] <= gi else 'MISS'}")
        if ld:
            tgt.append(f"load<={ld:.0f}s {'OK' if r['load_panel_s'] <= ld else 'MISS'}")
        if mem:
            tgt.append(f"mem<={mem:.0f}GB {'OK' if r['peak_rss_gb'] <= mem else 'MISS'}")
        shape = f"{r['shape'][0]}x{r['shape'][1]}"
        print(f"{p:<9}{r['rows']:>12,}{shape:>14}{r['generate_s']:>9.2f}s{r['ingest_s']:>8.2f}s{r['generate_ingest_s']:>8.2f}s"
              f"{r['load_panel_s']:>7.2f}s{r['peak_rss_gb']:>9.2f}  {'; '.join(tgt)}")


if __name__ == "__main__":
    main()

"""Profile ``broadening demo`` (the whole chain on the synthetic market) and name the hot spots.

Runs the demo command in-process under cProfile (warehouse and report in a temporary
directory), then prints the top five hot spots by own time (where the CPU actually goes)
and the project functions with the largest cumulative time (which stage they belong to).
The full profile is saved to ``benchmarks/out/demo.prof`` (``demo_quick.prof`` with ``--quick``) (open with ``snakeviz`` or
``python -m pstats``).

Run: ``.venv/bin/python benchmarks/profile_demo.py [--quick] [--top 5]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _where(func: tuple) -> str:
    file, line, name = func
    p = Path(file)
    parts = p.parts
    if "broadening" in parts:
        file = "/".join(parts[parts.index("broadening"):])
    elif "site-packages" in parts:
        file = "/".join(parts[parts.index("site-packages") + 1 :])
    elif file == "~":
        return name
    return f"{file}:{line} {name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the tiny preset")
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()

    from broadening.cli import main as cli

    preset = "tiny" if args.quick else "demo"
    with tempfile.TemporaryDirectory() as d:
        os.environ.pop("BROADENING_WAREHOUSE", None)
        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.enable()
        try:
            cli(["demo", "--out", d, "--preset", preset])
        except SystemExit as exc:
            if exc.code:
                raise
        finally:
            prof.disable()
        wall = time.perf_counter() - t
    OUT.mkdir(parents=True, exist_ok=True)
    prof_path = OUT / ("demo_quick.prof" if args.quick else "demo.prof")
    prof.dump_stats(prof_path)
    st = pstats.Stats(prof, stream=io.StringIO())
    total = sum(v[2] for v in st.stats.values())  # total own time
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)
    print(f"\nprofile of `broadening demo --preset {preset}`: {wall:.1f} s wall (profiled; cProfile adds overhead)")
    print(f"top {args.top} hot spots by own time:")
    for i, (func, (_cc, nc, tt, ct, _)) in enumerate(rows[: args.top], 1):
        print(f"  {i}. {tt:7.2f} s own ({tt / total:5.1%}), {ct:7.2f} s cumulative, {nc:>8,} calls  {_where(func)}")
    ours = [(f, v) for f, v in st.stats.items() if "broadening" in f[0] and "cli" not in Path(f[0]).parts]
    ours.sort(key=lambda kv: kv[1][3], reverse=True)
    print("project functions by cumulative time (which stage the time belongs to):")
    for func, (_cc, nc, tt, ct, _) in ours[:12]:
        print(f"     {ct:7.2f} s cumulative, {tt:6.2f} s own, {nc:>7,} calls  {_where(func)}")
    print(f"full profile: {prof_path}")


if __name__ == "__main__":
    main()

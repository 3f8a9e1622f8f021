"""``broadening backtest`` table: the active attribution (Brinson-Fachler) is the headline, raw
sleeve contributions come after it, labelled as raw."""

from __future__ import annotations

import json


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("│┃|").split("│")]


def test_brinson_first_then_the_raw_sleeve_contributions(run, tiny_warehouse, capsys):
    code, out, err = run(capsys, "-w", str(tiny_warehouse), "backtest", "--start", "2024-01-01")
    assert code == 0, err
    lines = out.splitlines()

    def first(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    order = [first("cagr"), first("active return vs cap_weight by sector"), first("active return vs cap_weight by sleeve"),
             first("raw sleeve contributions to the playbook's own return")]
    assert order == sorted(order), order
    assert "not vs cap_weight" in " ".join(out.split()) and "playbook return by sleeve" not in out
    # the headline's bottom line is what --json gives: the effects and the active return vs cap weight
    code, js, err = run(capsys, "-w", str(tiny_warehouse), "backtest", "--start", "2024-01-01", "--json")
    assert code == 0, err
    tot = json.loads(js)["brinson"]["sector"]["totals"]
    row = next(_cells(line) for line in lines[order[1]:order[2]] if "active return" in line and "│" in line)
    assert row == ["active return", "", "", *(f"{tot[e]:+.2%}" for e in ("allocation", "selection", "interaction", "active_return"))]

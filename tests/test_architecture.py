"""The layering of docs/architecture.md, enforced: read every module's imports (ast) and check that
no layer imports one it may not, that modules import no cycle, and that no private name crosses
a module boundary. A new module must be given a layer here (and in the document)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "broadening"

#: module name prefix -> layer (the longest matching prefix wins)
LAYER_OF = {
    "broadening.errors": "foundation",
    "broadening.schema": "foundation",
    "broadening.panel": "foundation",
    "broadening.config": "foundation",
    "broadening.asof": "foundation",
    "broadening.lanes": "foundation",
    "broadening.gaps": "foundation",
    "broadening.filings": "foundation",
    "broadening.quarters": "foundation",
    "broadening.providers": "providers",
    "broadening.warehouse": "warehouse",
    "broadening.warehouse_file": "warehouse",
    "broadening.export_dir": "warehouse",
    "broadening.export_blocks": "warehouse",
    "broadening.market": "market",
    "broadening.market_blocks": "market",
    "broadening.market_panels": "market",
    "broadening.baskets": "baskets",
    "broadening.aggregate": "baskets",
    "broadening.backtest": "backtest",
    "broadening.signals": "signals",
    "broadening.playbook": "playbook",
    "broadening.sweep": "sweep",
    "broadening.audit": "audit",
    "broadening.report": "report",
    "broadening.results": "results",
    "broadening.live": "application",
    "broadening.live_store": "application",
    "broadening.workspace": "application",
    "broadening.cli": "cli",
    "broadening": "api",  # the package root: the public names, imported on first use
}

#: layer -> the other layers it may import; everything else is a higher layer or a sibling
MAY_IMPORT = {
    "foundation": set(),
    "providers": {"foundation"},
    "warehouse": {"foundation", "providers"},
    "market": {"foundation", "warehouse"},
    "baskets": {"foundation", "market"},
    "backtest": {"foundation", "market"},  # the engine knows nothing of the thesis
    "signals": {"foundation", "market", "baskets"},
    "playbook": {"foundation", "market", "baskets", "backtest"},
    "sweep": {"foundation", "market", "baskets", "backtest", "playbook"},
    "audit": {"foundation", "providers", "warehouse", "market", "baskets", "signals"},
    "report": {"foundation", "market", "baskets", "backtest", "signals", "playbook", "audit"},
    "results": {"foundation", "warehouse", "backtest", "playbook", "sweep"},
    "application": {"foundation", "providers", "warehouse", "market", "baskets", "backtest", "signals",
                    "playbook", "sweep", "audit", "report", "results"},
    "cli": {"foundation", "providers", "warehouse", "market", "baskets", "backtest", "signals", "playbook",
            "sweep", "audit", "report", "results", "application"},
    "api": {"foundation", "providers", "warehouse", "market", "baskets", "backtest", "signals", "playbook",
            "sweep", "audit", "report", "results", "application"},
}


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at ``root``."""
    mods = {}
    for p in sorted(root.rglob("*.py")):
        parts = p.relative_to(root.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return mods


def imports_of(name: str, path: Path, mods: dict[str, Path]) -> list[tuple[str, str]]:
    """``(imported module, imported name or "")`` for every import of the package in one file.

    Every import counts, wherever it is (top level, inside a function, under
    ``TYPE_CHECKING``): a dependency that is only imported late is still a dependency.
    """
    pkg = name.split(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names if a.name.split(".")[0] == pkg]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            if src.split(".")[0] != pkg:
                continue
            for a in node.names:
                full = f"{src}.{a.name}"
                out.append((full, "") if full in mods else (src, a.name))  # `from pkg import submodule`
    return out


def layer(module: str) -> str | None:
    """The layer of ``module``: its longest prefix in :data:`LAYER_OF` (the root only names itself)."""
    best = max((p for p in LAYER_OF if module == p or ("." in p and module.startswith(p + "."))),
               key=len, default=None)
    return LAYER_OF.get(best) if best else None


def check(root: Path) -> dict[str, list[str]]:
    """Every breach of the rules in the package at ``root``, by kind."""
    mods = module_files(root)
    found: dict[str, list[str]] = {"unplaced": [], "upward": [], "private": [], "cycles": []}
    edges: dict[str, set[str]] = {}
    for m, p in mods.items():
        lm = layer(m)
        if lm is None:
            found["unplaced"].append(m)
            continue
        deps = set()
        for target, name in imports_of(m, p, mods):
            if name.startswith("_") and not name.startswith("__"):
                found["private"].append(f"{m} imports {target}.{name}")
            target = target if target in mods else next((t for t in sorted(mods, key=len, reverse=True)
                                                         if target.startswith(t + ".")), target)
            if target == m or target not in mods:
                continue
            lt = layer(target)
            if lt is not None and lt != lm and lt not in MAY_IMPORT[lm]:
                found["upward"].append(f"{m} ({lm}) imports {target} ({lt})")
            # importing a package from inside it is how submodules load, not a dependency loop
            if not (mods[target].name == "__init__.py" and m.startswith(target + ".")):
                deps.add(target)
        edges[m] = deps
    found["cycles"] = _cycles(edges)
    return found


def _cycles(edges: dict[str, set[str]]) -> list[str]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(" <-> ".join(sorted(comp)))
    return out


def test_every_layer_lists_only_known_layers():
    assert set(LAYER_OF.values()) == set(MAY_IMPORT)
    for lm, allowed in MAY_IMPORT.items():
        assert allowed <= set(MAY_IMPORT) - {lm}, lm


@pytest.mark.parametrize("kind", ["unplaced", "upward", "private", "cycles"])
def test_the_package_keeps_its_layers(kind):
    breaches = check(SRC)[kind]
    assert breaches == [], f"{kind}: " + "; ".join(breaches)


def test_the_checker_catches_each_kind_of_breach(tmp_path):
    """The rules above can fail: a small package that breaks each of them once."""
    pkg = tmp_path / "broadening"
    files = {
        "__init__.py": "",
        "errors.py": "",
        "market.py": "from broadening.warehouse import Warehouse\n",
        "warehouse.py": "def f():\n    from broadening.market import load_market\n",  # a cycle, and warehouse -> market
        "signals/__init__.py": "",
        "signals/regime.py": "from broadening.playbook.suite import run\nfrom broadening.errors import _hidden\n",
        "playbook/__init__.py": "",
        "playbook/suite.py": "from ..signals import regime\n",  # playbook -> signals: siblings
        "mystery.py": "",
    }
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    found = check(pkg)
    assert found["unplaced"] == ["broadening.mystery"]
    assert sorted(found["upward"]) == [
        "broadening.playbook.suite (playbook) imports broadening.signals.regime (signals)",
        "broadening.signals.regime (signals) imports broadening.playbook.suite (playbook)",
        "broadening.warehouse (warehouse) imports broadening.market (market)",
    ]
    assert found["private"] == ["broadening.signals.regime imports broadening.errors._hidden"]
    assert sorted(found["cycles"]) == ["broadening.market <-> broadening.warehouse",
                                       "broadening.playbook.suite <-> broadening.signals.regime"]

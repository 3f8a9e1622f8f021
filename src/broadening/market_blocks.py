"""The market one security block at a time, and passes over the blocks (serially or on Dask).

A block export (:mod:`broadening.export_blocks`) holds the warehouse's per-security tables
partitioned into blocks of securities grouped by listing date. :func:`load_block` builds the
:class:`~broadening.market.Market` of one block with the same loader as the whole market,
on the whole market's trading calendar, from the block's first date on: its panels are
``(T_block, B)`` and line up with the whole market's rows from ``offset``. A cell of a
block's panel equals the same cell of the whole market's panel, so any per-security
quantity (a return, a moving average, a membership flag) is the same in both.

:func:`map_blocks` runs one function per block. Each task receives the export's path and
a block number (never a panel) and returns whatever small partial result the function
makes; the caller reduces them. On Dask (``broadening[dask]``) the tasks run on the
client's workers; any error names the block and, for a file it cannot read, the file.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from broadening.asof import rows_through
from broadening.errors import BroadeningError
from broadening.export_blocks import BlockError, BlockExport, open_block, read_blocks
from broadening.market import Market, load_market

__all__ = ["BlockExport", "BlockMarket", "block_window", "load_block", "map_blocks", "read_blocks", "require_distributed"]


@dataclass
class BlockMarket:
    """One block's market and where its rows sit in the whole market's calendar.

    Attributes
    ----------
    block : int
    offset : int
        Row of the whole market's calendar where this block's panels start.
    rows : int
        Rows of the whole market's panels (as of the same date).
    market : Market
        Panels ``(T_block, B)`` with ``T_block = rows - offset``.
    indexes : list of str
        Every index with stored membership in the whole market.
    """

    block: int
    offset: int
    rows: int
    market: Market
    indexes: list[str]

    def members(self, index_id: str) -> np.ndarray:
        """Membership mask of ``index_id`` on this block, ``(T_block, B)`` bool.

        As :func:`broadening.baskets.index_members` reads it on the whole market: the
        stored intervals when the market has membership for the index (a block holding
        none of its members gets an all-False mask), every alive security when the market
        stores membership for no index at all, and no one otherwise.
        """
        m = self.market
        if index_id in self.indexes:
            return m.members(index_id) if m.has_index(index_id) else np.zeros(m.shape, dtype=bool)
        return m.alive if not self.indexes else np.zeros(m.shape, dtype=bool)


def block_window(export: BlockExport, asof: str | pd.Timestamp | None = None) -> tuple[np.ndarray, int]:
    """The whole market's trading calendar and its number of rows as of ``asof``."""
    calendar = export.calendar()
    return calendar, rows_through(calendar, asof if asof is not None else export.last)


def load_block(directory: str | Path | BlockExport, block: int, asof: str | pd.Timestamp | None = None) -> BlockMarket | None:
    """Build one block's market as of ``asof`` (default: the last date of the export).

    Returns None when the block has no price on or before ``asof``.

    Raises
    ------
    BlockError
        Naming the block and the file it could not read.
    """
    export = directory if isinstance(directory, BlockExport) else read_blocks(directory)
    if not 0 <= block < len(export.blocks):
        raise BlockError(f"{export.directory}: no block {block} (the export has {len(export.blocks)})")
    info = export.blocks[block]
    calendar, rows = block_window(export, asof)
    if info.first is None or rows == 0 or np.datetime64(info.first, "D") > calendar[rows - 1]:
        return None
    offset = int(np.searchsorted(calendar, np.datetime64(info.first, "D")))
    with open_block(export, block) as wh:
        # a block is already grouped by listing window: one column per security, as the block pass expects
        market = load_market(wh, asof=pd.Timestamp(calendar[rows - 1]), start=info.first, calendar=calendar,
                             layout="dense")
    market.synthetic = export.synthetic
    return BlockMarket(block=block, offset=offset, rows=rows, market=market, indexes=list(export.indexes))


def require_distributed():
    """The ``distributed`` module, or a clear error naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise BroadeningError("running on a Dask cluster needs the 'dask' extra: pip install 'broadening[dask]'") from None
    return distributed


def _run_block(func: Callable[..., Any], directory: str, block: int, args: tuple) -> Any:
    """One task: ``func(directory, block, *args)``, with any error naming the block."""
    try:
        return func(directory, block, *args)
    except BlockError:
        raise
    except Exception as exc:  # a task's failure must say where it happened
        files = Path(directory) / "<table>" / f"block={block}"
        raise BlockError(f"{files}: block {block} failed in {getattr(func, '__name__', func)}: "
                         f"{type(exc).__name__}: {exc}") from None


def map_blocks(
    func: Callable[..., Any],
    directory: str | Path,
    *args: Any,
    blocks: Sequence[int] | None = None,
    client=None,
) -> list[Any]:
    """``func(directory, block, *args)`` for every block, in block order.

    Parameters
    ----------
    func : callable
        A module-level function (so Dask ships it by reference) that loads what it needs
        of its block from ``directory`` and returns a small partial result.
    directory : str or Path
        A block export.
    *args
        Small arguments shared by every task (a config, a date, per-day vectors).
    blocks : sequence of int, optional
        Default: every block of the export.
    client : distributed.Client, optional
        Run the tasks on this client's workers (default: serially, in this process).

    Returns
    -------
    list
        One result per block, in the order of ``blocks``.

    Raises
    ------
    BlockError
        The first block that failed, naming it (and the file it could not read).
    """
    directory = str(Path(directory).resolve())
    todo = list(range(len(read_blocks(directory).blocks))) if blocks is None else [int(b) for b in blocks]
    if client is None:
        return [_run_block(func, directory, b, args) for b in todo]
    distributed = require_distributed()
    token = uuid.uuid4().hex[:8]
    futures = {client.submit(_run_block, func, directory, b, args, key=f"block-{token}-{b:05d}", pure=False): i
               for i, b in enumerate(todo)}
    out: list[Any] = [None] * len(todo)
    try:
        for fut in distributed.as_completed(futures):
            out[futures[fut]] = fut.result()
    finally:
        client.cancel(list(futures))
    return out

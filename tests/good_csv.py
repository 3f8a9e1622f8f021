"""A small valid market as the user's CSV files, shared by the CLI and the hostile-input tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

#: Every table, every kind of column: three securities, two trading days, a membership gap, one series.
GOOD = {
    "securities.csv": "security_id,ticker,name,sector,domestic_revenue_share,ai_layer,is_bdc\n"
    "A,AAA,Alpha,Industrials,0.8,adopter,false\n"
    "B,BBB,Beta,Information Technology,0.3,infrastructure,false\n"
    "C,CCC,Gamma,Financials,0.9,,true\n",
    "prices.csv": "security_id,date,close,adj_close,volume\n"
    "A,2024-01-02,10,10,100\nA,2024-01-03,11,11,100\nB,2024-01-02,20,20,50\n"
    "B,2024-01-03,21,21,50\nC,2024-01-02,5,5,10\nC,2024-01-03,5.5,5.5,10\n",
    "shares.csv": "security_id,date,shares_outstanding\nA,2023-12-01,100\nB,2023-12-01,50\nC,2023-12-01,10\n",
    "fundamentals.csv": "security_id,period_end,available_date,eps,net_income\n"
    "A,2023-09-30,2023-11-01,1.0,100\nB,2023-09-30,2023-10-25,2.0,100\n",
    "membership.csv": "index_id,security_id,start,end\nsp500,A,2020-01-01,\nsp500,B,2020-01-01,2023-06-01\n"
    "sp500,B,2023-07-01,\n",
    "series.csv": "series_id,date,value\nHY,2024-01-02,3.1\n",
}


def write_dir(path: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (name -> text or bytes) into a new directory ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = path / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return path

"""The report: one self-contained HTML file a portfolio manager reads (see :func:`build_report`)."""

from broadening.report.build import CLAIM_CHART, ReportResult, build_report

__all__ = ["build_report", "ReportResult", "CLAIM_CHART"]

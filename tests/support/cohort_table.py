"""The cohort table of docs/members.md, rendered from a repeatPurchaseCohorts answer."""

from __future__ import annotations

from typing import Any


def months_between(first: str, last: str) -> int:
    (y0, m0), (y1, m1) = (map(int, label.split("-")) for label in (first, last))
    return (y1 - y0) * 12 + m1 - m0


def render(answer: dict[str, Any], *, last_month: str) -> str:
    """One row per cohort: its size, how many bought again, and how many bought in each later
    month (blank past ``last_month``, the window's last)."""
    cohorts = answer["cohorts"]
    width = max(months_between(c["label"], last_month) for c in cohorts)
    head = ["first order", "first kind", "members", "bought again",
            *(f"+{k}" for k in range(1, width + 1))]
    lines = ["| " + " | ".join(head) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in head[2:]) + " |"]
    for cohort in cohorts:
        bought = {p["offset"]: p["members"] for p in cohort["periods"]}
        seen = months_between(cohort["label"], last_month)
        cells = [bought.get(k, "0") if k <= seen else "" for k in range(1, width + 1)]
        lines.append("| " + " | ".join([cohort["label"], cohort["firstKind"], cohort["members"],
                                        cohort["returned"], *cells]) + " |")
    return "\n".join(lines)

"""A fixed, stratified sample of eval cases: every category represented, each category's share
proportional to its size, the cases within a category chosen by a hash of their id (no randomness:
the same suite gives the same sample on every machine, and a new case moves the sample by at most one
case of its own category)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from assistant.evaluation import Case

FULL_DRAFT = "full draft"  # the report's name for the full pipeline's model drafts, when only a sample drafts


def stratified_sample(cases: Sequence[Case], size: int) -> list[Case]:
    """About `size` cases, in suite order, with every category represented; the whole suite when `size`
    is at least its length. With fewer places than categories each category still gets one case."""
    if size >= len(cases):
        return list(cases)
    by_category: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_category[case.category].append(case)
    quotas = category_quotas({name: len(members) for name, members in by_category.items()}, size)
    chosen = {c.id for name, members in by_category.items()
              for c in sorted(members, key=lambda c: _rank(c.id))[:quotas[name]]}
    return [c for c in cases if c.id in chosen]


def category_quotas(sizes: dict[str, int], size: int) -> dict[str, int]:
    """Places per category: at least one each, otherwise proportional (largest remainder, ties by name)."""
    total = sum(sizes.values())
    ideal = {name: size * n / total for name, n in sizes.items()}
    quotas = {name: min(sizes[name], max(1, int(ideal[name]))) for name in sizes}
    while sum(quotas.values()) < size:
        open_ = [name for name in sorted(sizes) if quotas[name] < sizes[name]]
        quotas[max(open_, key=lambda name: ideal[name] - quotas[name])] += 1
    return quotas


def _rank(case_id: str) -> str:
    return hashlib.sha256(case_id.encode("utf-8")).hexdigest()

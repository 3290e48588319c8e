"""The answer in the terminal, rendered from its structure (summary, codes, typed sections), never its Markdown."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from assistant.answer import Answer, Section

VERDICTS = {"correct": "correct", "replace": "replace with", "remove": "do not report"}


def console() -> Console:
    """Standard output; colours only on a terminal, and a wide line when piped so rows are not cut."""
    out = Console(highlight=False, soft_wrap=False)
    return out if out.is_terminal else Console(highlight=False, width=160, no_color=True)


def render(answer: Answer, out: Console) -> None:
    out.print(Text(answer.summary, style="bold"))  # a missing fact's question is the summary itself
    if answer.codes:
        out.print(codes_table(answer))
    for section in answer.sections:
        items = _shown_items(section, answer)
        if items:
            _print_list(out, section.title, items, dim=section.kind in ("quote", "notice"))
    if answer.review:
        _print_list(out, "Your codes", [_verdict(v) for v in answer.review])
    if answer.rejected:
        _print_list(out, "Rejected", [f"{r.code}: {r.reason}" for r in answer.rejected])
    if answer.warnings:
        _print_list(out, "Warnings", answer.warnings, style="yellow")
    render_understood(answer, out)
    if answer.citations:
        _print_list(out, "Sources", [f"[{c.id}] {c.title}" for c in answer.citations], dim=True)


def codes_table(answer: Answer) -> Table:
    table = Table(title=f"Codes for {answer.date_of_service.isoformat()}", title_justify="left", expand=False)
    for column in ("Code", "Units", "Modifiers", "Description"):
        table.add_column(column, overflow="fold", no_wrap=column != "Description")
    for line in answer.codes:
        table.add_row(Text(line.code), str(line.units), Text(", ".join(line.modifiers) or "-"), Text(line.description))
    return table


def render_understood(answer: Answer, out: Console) -> None:
    """The read-back: each fact with the words it was read from."""
    if not answer.understood:
        return
    lines = []
    for item in answer.understood:
        words = ", ".join(f'"{e.text}"' for e in item.evidence) or f"({item.source})"
        level = f" {item.level}" if item.level else ""
        lines.append(f"{item.fact.replace('_', ' ')}{level}: {item.value}  <- {words}")
    _print_list(out, "Understood", lines, dim=True, bullet="")


def _shown_items(section: Section, answer: Answer) -> list[str]:
    """The question is the summary, the review has its own list, notes repeating a rejected code or warning are
    left out."""
    if section.kind in ("question", "review"):
        return []
    if section.kind != "notes":
        return section.items
    elsewhere = set(answer.warnings) | {f"{r.code}: {r.reason}" for r in answer.rejected}
    return [item for item in section.items if item not in elsewhere]


def _verdict(v) -> str:
    by = f" {', '.join(v.by)}" if v.by else f", {v.units} unit(s)" if v.units else ""
    return f"{v.code}: {VERDICTS.get(v.verdict, v.verdict)}{by} - {v.reason}"


def _print_list(out: Console, title: str, items: list[str], *, dim: bool = False, style: str = "",
                bullet: str = "- ") -> None:
    out.print()
    out.print(Text(f"{title}:", style="bold dim" if dim else "bold"))
    for item in items:
        out.print(Text(f"  {bullet}" + item.replace("\n", "\n    "), style="dim" if dim else style))

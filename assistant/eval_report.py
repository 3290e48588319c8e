"""Write the eval report: latest.json, latest.md and a PNG chart of exact match per category."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.eval_sample import FULL_DRAFT
from assistant.evaluation import BASELINES, CaseResult, metrics

DRAFT_AGREES = "draft agrees with the rule-checked codes it was given"
DRAFT_NOTE = ("The model is shown the rule-checked codes in its prompt, so the draft agreement rate measures whether "
              "its text agrees with them (every derived code cited, with the derived units; no code the check "
              "rejects; no code called something the code table says it is not, such as an add-on called a bone "
              "biopsy), not whether it could find the codes unaided: exact match of baselines (a) and (b) measures that. "
              "Every answer's codes come from the rule check, whatever the draft says.")

SUMMARY_ROWS = [
    ("exact_match", "code-set exact match"),
    ("forbidden_reported", "forbidden codes reported"),
    ("unverified_codes", "unverified codes in answers"),
    ("citation_support", "citation support"),
    ("recall_at_5", "retrieval recall@5"),
    ("scope_accuracy", "scope accuracy"),
    ("clarification_accuracy", "clarification accuracy"),
    ("multi_turn_accuracy", "multi-turn accuracy"),
    ("mentions_accuracy", "answer text mentions expected codes"),
    ("draft_pass_rate", DRAFT_AGREES),
    ("review_accuracy", "verdicts on proposed codes right"),
    ("answer_accuracy", "knowledge facts in the answer"),
    ("errors", "cases that crashed"),
]


def write_report(directory: Path, summary: dict, results: list[CaseResult], gate_failures: list[str],
                 meta: dict, name: str = "latest", first_runs: list[dict] = ()) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {kind: directory / f"{name}.{kind}" for kind in ("json", "md", "png")}
    payload = {"meta": meta, "gate": {"passed": not gate_failures, "failures": gate_failures},
               "summary": summary, "cases": [r.model_dump(mode="json") for r in results]}
    paths["json"].write_text(json.dumps(payload, indent=2))
    paths["md"].write_text(markdown(summary, results, gate_failures, meta, first_runs))
    chart(summary, paths["png"])
    return paths


def _fmt(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(summary: dict, results: list[CaseResult], gate_failures: list[str], meta: dict,
             first_runs: list[dict] = ()) -> str:
    baselines = list(summary)
    lines = [f"# Eval report — {meta.get('finished', '')}", "",
             f"{meta.get('cases', 0)} cases, {meta.get('seconds', 0)} s, model `{meta.get('model', '')}`.", ""]
    lines += sample_lines(meta.get("sampled") or {})
    lines += first_run_table(first_runs) + [
             "Gate (full pipeline): " + ("**passed**" if not gate_failures else "**FAILED** — " + "; ".join(gate_failures)),
             "", "## Metrics", "", "| metric | " + " | ".join(_column(b, meta) for b in baselines) + " |",
             "|---|" + "---|" * len(baselines)]
    for key, label in SUMMARY_ROWS:
        lines.append(f"| {label} | " + " | ".join(_fmt(summary[b].get(key)) for b in baselines) + " |")
    lines += ["", DRAFT_NOTE, ""] + comparison_lines(results, meta.get("backends") or {})
    lines += ["", "## Exact match per category", "", "| category | " + " | ".join(baselines) + " |",
              "|---|" + "---|" * len(baselines)]
    for category in sorted(summary[baselines[0]]["exact_match_by_category"]):
        lines.append(f"| {category} | " + " | ".join(
            _fmt(summary[b]["exact_match_by_category"].get(category)) for b in baselines) + " |")
    lines += time_lines(summary, meta)
    lines += ["", "## Latency per stage (ms)", "", "| baseline | stage | p50 | p95 |", "|---|---|---|---|"]
    for b in baselines:
        for stage, values in summary[b]["latency_ms"].items():
            lines.append(f"| {b} | {stage} | {values['p50']} | {values['p95']} |")
    failing = [r for r in results if r.baseline in ("full", "full_openai") and (not r.exact or r.forbidden_hits)]
    lines += ["", f"## Failing cases of the full pipeline ({len(failing)})", ""]
    for r in failing:
        got = ", ".join(f"{g.code}{''.join('-' + m for m in g.modifiers)} x{g.units}" for g in r.got) or "(none)"
        lines += [f"### {r.id} ({r.category})", f"- question: {r.question}",
                  f"- expected: {' OR '.join('[' + ', '.join(s) + ']' for s in r.expected)}", f"- got: {got}",
                  f"- rejected draft codes: {', '.join(r.rejected) or '(none)'}"]
        if r.error:
            lines.append(f"- error: {r.error}")
        lines.append("")
    return "\n".join(lines) + "\n"


COMPARISON_ROWS = [
    ("exact_match", "code-set exact match"),
    ("forbidden_reported", "forbidden codes reported"),
    ("draft_pass_rate", DRAFT_AGREES),
    ("drafts_streamed", "drafts streamed"),
    ("first_token_ms", "first token, ms from the question (median)"),
    ("tokens_per_s", "draft tokens per second (median)"),
]


def comparison_lines(results: list[CaseResult], backends: dict[str, dict]) -> list[str]:
    """(c) and (d) side by side on the cases (d) ran: the same pipeline and rule check, another model path."""
    served = [r for r in results if r.baseline == "full_openai"]
    if not served:
        return []
    ids = {r.id for r in served}
    figures = metrics([r for r in results if r.baseline == "full" and r.id in ids] + served)
    columns = [b for b in ("full", "full_openai") if b in figures]
    lines = [f"## (c) embedded model and (d) OpenAI-compatible server, on the {len(ids)} cases (d) ran", "",
             "| | " + " | ".join(_backend_label(b, backends.get(b, {})) for b in columns) + " |",
             "|---|" + "---|" * len(columns)]
    lines += [f"| {label} | " + " | ".join(_fmt(figures[b].get(key)) for b in columns) + " |"
              for key, label in COMPARISON_ROWS]
    return lines + ["", "Both draft with the same rule-checked codes and are verified by the same rule check; "
                    "(c)'s drafts are those of its own sample that (d) also ran (its other answers have no draft).", ""]


def _backend_label(baseline: str, backend: dict) -> str:
    name = {"full": "(c)", "full_openai": "(d)"}[baseline]
    if not backend:
        return name
    return (f"{name} {backend['backend']} `{backend['model']}`, prompt {backend['prompt']}, "
            f"max {backend['max_tokens']} tokens")


def _column(baseline: str, meta: dict) -> str:
    sample = (meta.get("sampled") or {}).get(baseline)
    label = BASELINES.get(baseline, baseline)
    return f"{label} (sample {sample['cases']}/{sample['of']})" if sample else label


def time_lines(summary: dict, meta: dict) -> list[str]:
    """Where the eval's time went: the setup, then each baseline's cases and the model's drafts within them."""
    rows = [(b, figures) for b, figures in summary.items() if figures.get("seconds") is not None]
    if not rows:
        return []
    lines = ["", "## Time per baseline (s)", "",
             f"Setup (code table, index, model load): {meta.get('setup_seconds', 'n/a')} s; the whole eval: "
             f"{meta.get('seconds', 'n/a')} s.", "",
             "| baseline | cases | seconds | model drafts | the rest |", "|---|---|---|---|---|"]
    for baseline, figures in rows:
        rest = round(figures["seconds"] - figures["draft_seconds"], 1)
        lines.append(f"| {baseline} | {figures['cases']} | {figures['seconds']} | {figures['draft_seconds']} | {rest} |")
    return lines


def sample_lines(sampled: dict[str, dict[str, int]]) -> list[str]:
    """Which runs used a sample, and of how many cases."""
    if not sampled:
        return []
    runs = "; ".join(f"{b}: {s['cases']} of {s['of']} cases" for b, s in sampled.items())
    lines = [f"**Run on a sample** ({runs}): a fixed stratified sample, every category represented, chosen "
             "by a hash of the case id. The full pipeline answered every case, and the gate is on all of them."]
    if FULL_DRAFT in sampled:
        lines.append("Its model draft ran on the sample only (the LLM draft pass rate is over those cases); "
                     "the codes of every answer come from the rule check, with or without a draft.")
    lines.append("`assistant eval` without `--sample` runs everything on every case.")
    return [" ".join(lines), ""]


FIRST_RUN_COLUMNS = ("set", "date", "commit", "exact", "forbidden", "needless_clarification", "review", "answer")


def first_run_table(rounds: list[dict]) -> list[str]:
    """Every blind or held-out round's first run: the honest accuracy on unseen questions."""
    if not rounds:
        return []
    lines = ["## Unseen, first run (the honest estimate; tuned figures below are not)", "",
             "| " + " | ".join(FIRST_RUN_COLUMNS) + " |", "|---" * len(FIRST_RUN_COLUMNS) + "|"]
    lines += ["| " + " | ".join(str(r.get(c, "—")) for c in FIRST_RUN_COLUMNS) + " |" for r in rounds]
    return lines + [""]


def chart(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    baselines = list(summary)
    categories = sorted(summary[baselines[0]]["exact_match_by_category"])
    width = 0.8 / len(baselines)
    fig, ax = plt.subplots(figsize=(14, 5.5))
    for i, b in enumerate(baselines):
        values = [summary[b]["exact_match_by_category"].get(c) or 0 for c in categories]
        ax.bar([x + i * width for x in range(len(categories))], values, width, label=BASELINES.get(b, b))
    ax.set_xticks([x + width * (len(baselines) - 1) / 2 for x in range(len(categories))])
    ax.set_xticklabels(categories, rotation=40, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("code-set exact match")
    ax.set_title("Exact match per category and baseline")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

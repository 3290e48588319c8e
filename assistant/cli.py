"""The command line: a thin shell over the Python API."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

import click

from assistant.config import Settings
from assistant.errors import (
    ChromaServerError,
    ConfigError,
    CorpusError,
    DatabaseError,
    IndexCorruptError,
    InputError,
    ModelUnavailableError,
)

CHAT_HELP = """Commands:
  /dos YYYY-MM-DD   set the date of service for the next questions (/dos alone: back to today)
  /sources          show the sources of the last answer
  /reset            forget the conversation (follow-ups resolve against earlier turns)
  /help             this help
  /quit             leave (or Ctrl-D)"""


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _assistant(progress: bool = True):
    from assistant.pipeline import Assistant

    return Assistant(progress=progress)


# Set once a one-shot command has printed its result: `run` then leaves without the interpreter's teardown.
_ONE_SHOT_DONE: list[bool] = []


def run() -> None:
    """The console entry point. After a one-shot `ask` has printed its answer nothing is left to write, and
    unloading the model and every module would add a fifth of a second (a tenth of a cold answer) before the
    shell gets its prompt back: flush and leave. Every other command ends the ordinary way."""
    try:
        main()
    except SystemExit as done:
        if not _ONE_SHOT_DONE:
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(done.code if isinstance(done.code, int) else 0)


@click.group(help="Coding assistant for vertebroplasty, vertebral augmentation and sacral augmentation.")
@click.version_option(package_name="vertebro-assistant")
def main() -> None:
    """Every command reads the settings: a bad variable is one line naming it, before any work."""
    try:
        Settings.from_env()
    except ConfigError as exc:
        _fail(str(exc), 2)


@main.command(help="Answer one question. QUESTION may be '-' to read it from standard input.")
@click.argument("question")
@click.option("--dos", "dos", metavar="YYYY-MM-DD", help="Date of service (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer schema as JSON.")
@click.option("--no-llm", is_flag=True, help="Skip the chat model; the deterministic composer answers.")
def ask(question: str, dos: str | None, as_json: bool, no_llm: bool) -> None:
    if question == "-":
        raw = sys.stdin.buffer.read()
        try:
            question = raw.decode("utf-8")
        except UnicodeDecodeError:
            _fail("the question is not valid UTF-8 text", 2)
    try:
        answer = _assistant(progress=not as_json).ask(question, dos, use_llm=not no_llm)
    except InputError as exc:
        _fail(str(exc), 2)
    except (IndexCorruptError, CorpusError, ModelUnavailableError, ChromaServerError) as exc:
        _fail(str(exc), 1)
    if as_json:
        click.echo(json.dumps(answer.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        from assistant.terminal import console, render

        render(answer, console())
    _ONE_SHOT_DONE.append(True)


@main.command(help="Chat in the terminal: streamed drafts, verified answers, follow-ups.")
@click.option("--dos", "dos", metavar="YYYY-MM-DD", help="Date of service for the conversation.")
def chat(dos: str | None) -> None:
    try:
        assistant = _assistant()
        assistant.index  # noqa: B018 - build or open the index before the first question
    except (IndexCorruptError, CorpusError, ChromaServerError) as exc:
        _fail(str(exc), 1)
    history: list[str] = []
    last = None
    click.echo("Vertebroplasty / kyphoplasty coding assistant. /help for commands, Ctrl-D to leave.")
    while True:
        try:
            line = input("\ncoder> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if not line:
            continue
        if line.startswith("/"):
            command, _, arg = line.partition(" ")
            if command in ("/quit", "/exit"):
                return
            if command == "/help":
                click.echo(CHAT_HELP)
            elif command == "/reset":
                history, last = [], None
                click.echo("Conversation cleared.")
            elif command == "/dos":
                dos = _chat_dos(arg.strip(), dos)
            elif command == "/sources":
                _print_sources(last)
            else:
                click.echo(f"Unknown command {command}. /help lists the commands.")
            continue
        last = _chat_turn(assistant, line, dos, history)


def _chat_dos(arg: str, current: str | None) -> str | None:
    if not arg:
        click.echo("Date of service cleared: questions use their own date or today.")
        return None
    try:
        parsed = date.fromisoformat(arg)
    except ValueError:
        click.echo(f"error: invalid date {arg!r}: use YYYY-MM-DD")
        return current
    if parsed > date.today():
        click.echo(f"error: the date of service {arg} is in the future")
        return current
    click.echo(f"Date of service set to {arg}.")
    return arg


def _chat_turn(assistant, line: str, dos: str | None, history: list[str]):
    from assistant.terminal import console, render

    drafting = [False]

    def on_token(token: str) -> None:
        if not drafting[0]:
            click.secho("draft (model, not yet checked): ", dim=True, nl=False)
            drafting[0] = True
        click.secho(token, dim=True, nl=False)

    try:
        answer = assistant.ask(line, dos, history, on_token=on_token)
    except InputError as exc:
        click.echo(f"error: {exc}")
        return None
    if drafting[0]:
        verdict = "passed the rule check" if answer.llm.draft_passed else "did not pass the rule check; verified answer:"
        click.secho(f"\n[draft {verdict}]", dim=True)
    click.echo()
    render(answer, console())
    history.append(line)
    return answer


def _print_sources(answer) -> None:
    if answer is None or not answer.citations:
        click.echo("No sources yet.")
        return
    for c in answer.citations:
        click.echo(f"- [{c.id}] {c.title} ({c.license})\n    {c.source}")


@main.command(help="Build or update the search index (incremental; --rebuild starts over).")
@click.option("--rebuild", is_flag=True, help="Discard the current index and build a new one.")
def index(rebuild: bool) -> None:
    from assistant.codebook import Codebook
    from assistant.retrieval import build_index

    settings = Settings.from_env()
    try:
        report = build_index(settings, Codebook.load(settings.corpus_dir / "codes"), rebuild=rebuild)
    except (CorpusError, ChromaServerError, IndexCorruptError) as exc:
        _fail(str(exc), 1)
    click.echo(f"Index ready at {report.path}: {report.chunks} chunks, {report.embedded} embedded, "
               f"{report.unchanged} unchanged, {report.removed} removed, {report.seconds}s.")


@main.command("eval", help="Run the eval suite on the real pipeline and baselines; write evals/report/.")
@click.option("--baseline", "baselines", multiple=True,
              type=click.Choice(["llm_only", "rag_llm", "full", "full_openai"]),
              help="Run only these baselines (default: all available).")
@click.option("--category", "categories", multiple=True, help="Run only cases of these categories.")
@click.option("--no-gate", is_flag=True, help="Exit 0 even when the full pipeline misses a threshold.")
@click.option("--blind", is_flag=True,
              help="Run the frozen blind sets (evals/blind) on the full pipeline instead; reported, never gated.")
@click.option("--sample", type=click.IntRange(min=1), default=None, metavar="N",
              help="Run every baseline but the full pipeline on a fixed stratified sample of about N cases "
                   "(every category; the full pipeline still runs every case). Default: every case.")
@click.option("--openai-sample", type=click.IntRange(min=1), default=None, metavar="N",
              help="Run baseline (d), the OpenAI-compatible endpoint, on a fixed stratified sample of about N cases "
                   "of its own. Default: the --sample cases (or every case).")
def eval_command(baselines: tuple[str, ...], categories: tuple[str, ...], no_gate: bool, blind: bool,
                 sample: int | None, openai_sample: int | None) -> None:
    from assistant.eval_runner import run_eval

    try:
        outcome = run_eval(baselines=list(baselines), categories=list(categories), blind=blind, sample=sample,
                           openai_sample=openai_sample)
    except (IndexCorruptError, CorpusError, ChromaServerError, ValueError) as exc:
        _fail(str(exc), 1)
    click.echo(outcome.summary_text())
    sys.exit(0 if no_gate or outcome.passed else 1)


@main.command(help="Print speed and memory figures: warm p50/p95, first token, cold ask, index build, RSS.")
@click.option("--questions", default=40, show_default=True, help="Warm questions to time.")
@click.option("--cold-runs", default=5, show_default=True,
              help="Cold one-shot `assistant ask` runs (and as many bare model processes, in turns).")
@click.option("--scale", default=0, metavar="CHUNKS", type=click.IntRange(min=0),
              help="Instead: search p50/p95 and peak RSS on a synthetic index of CHUNKS chunks (e.g. 50000).")
def bench(questions: int, cold_runs: int, scale: int) -> None:
    if scale:
        from assistant.bench_scale import run as run_scale

        click.echo(run_scale(scale))
        return
    from assistant.bench import run

    click.echo(run(questions, cold_runs))


@main.command(help="Serve the chat page, the answer API and the OpenAI-compatible API.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--queue", "queue_limit", type=click.IntRange(min=0),
              help="Requests that may wait for the model. Default: ASSISTANT_QUEUE, else 8.")
@click.option("--guest/--no-guest", default=False, show_default=True,
              help="Allow requests without a key (public tier only, ASSISTANT_GUEST_PER_MINUTE a minute per address).")
@click.option("--trusted-proxy", "trusted_proxies", metavar="IPS",
              help="Comma-separated addresses or networks of the reverse proxies in front of the server, whose "
                   "X-Forwarded-For names the client (guest limit, logs). Default: ASSISTANT_TRUSTED_PROXIES, "
                   "else none: the header is ignored.")
def serve(host: str, port: int, queue_limit: int | None, guest: bool, trusted_proxies: str | None) -> None:
    import uvicorn

    from assistant.server import create_app
    from assistant.server.limits import uvicorn_options

    settings = Settings.from_env(queue_limit=queue_limit, trusted_proxies=trusted_proxies)
    click.echo(f"Serving on http://{host}:{port}/ (create a key with `assistant keys create`)")
    app = create_app(queue_limit=settings.queue_limit, guest=guest, guest_per_minute=settings.guest_per_minute)
    uvicorn.run(app, host=host, port=port, log_level="info", **uvicorn_options(settings.trusted_proxies))


def _store():
    from assistant.server.store import open_store

    try:
        return open_store()
    except DatabaseError as exc:
        _fail(str(exc), 1)


@main.group(help="The server's database of keys and conversations (ASSISTANT_DATABASE_URL, default SQLite).")
def db() -> None:
    pass


@db.command("upgrade", help="Migrate the database's schema to this version's newest (the server also does at start).")
def db_upgrade() -> None:
    from assistant.server.database import shown

    store = _store()
    change = "already" if store.upgraded_from == store.revision else f"upgraded from {store.upgraded_from or 'empty'} to"
    click.echo(f"{shown(store.url)}: {change} schema revision {store.revision}.")


@db.command("current", help="Show the database's schema revision and this version's newest; migrates nothing.")
def db_current() -> None:
    from assistant.server.database import shown
    from assistant.server.store import schema_revision, store_url

    settings = Settings.from_env()
    try:
        revision, newest = schema_revision(settings)
    except DatabaseError as exc:
        _fail(str(exc), 1)
    pending = "" if revision == newest else " (run `assistant db upgrade`, or start the server, to migrate)"
    click.echo(f"{shown(store_url(settings))}: schema revision {revision or 'none'}; newest {newest}{pending}")


@main.group(help="API keys for the server (stored hashed in the server's database).")
def keys() -> None:
    pass


@keys.command("create", help="Create a key; the key itself is the last word printed (shown once).")
@click.option("--entitlement", type=click.Choice(["public", "cpt-licensed"]), default="public", show_default=True)
@click.option("--name", default="", help="A label to recognise the key by.")
def keys_create(entitlement: str, name: str) -> None:
    key, secret = _store().create_key(entitlement, name)
    click.echo(f"Created key {key.id} ({key.entitlement}{', ' + name if name else ''}). Store it now; it is not "
               f"shown again: {secret}")


@keys.command("list", help="List keys (hints only; the keys themselves are not stored).")
def keys_list() -> None:
    for key in _store().list_keys():
        status = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.hint}\t{key.entitlement}\t{key.name or '-'}\t{key.created_at}\t{status}")


@keys.command("revoke", help="Revoke a key by its number (see `keys list`).")
@click.argument("key_id", type=int)
def keys_revoke(key_id: int) -> None:
    if not _store().revoke_key(key_id):
        _fail(f"no active key {key_id}", 2)
    click.echo(f"Revoked key {key_id}.")


@main.group(help="Check the corpus and code table; import licensed CPT descriptors.")
def corpus() -> None:
    pass


@corpus.command("check", help="Validate every doc and code entry; exit 1 on any problem.")
def corpus_check() -> None:
    from assistant.codebook import Codebook
    from assistant.corpus import check

    settings = Settings.from_env()
    codebook = Codebook.load(settings.corpus_dir / "codes")
    problems = check(settings.corpus_dir, codebook)
    docs = len(list((settings.corpus_dir / "docs").rglob("*.md")))
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{docs} docs, {len(codebook.entries)} codes: {len(problems)} problem(s).")
    sys.exit(1 if problems else 0)


@corpus.command("report", help="For every code in the table, the docs that describe it.")
def corpus_report() -> None:
    from assistant.codebook import Codebook
    from assistant.corpus import coverage_report

    settings = Settings.from_env()
    for code, ids in coverage_report(settings.corpus_dir, Codebook.load(settings.corpus_dir / "codes")).items():
        click.echo(f"{code}\t{len(ids)}\t{', '.join(ids)}")


@corpus.command("import-cpt", help="Import an AMA descriptor file (code<TAB>descriptor) into the cpt-licensed tier.")
@click.argument("file", type=click.Path(path_type=Path))
def corpus_import_cpt(file: Path) -> None:
    from assistant.codebook import Codebook
    from assistant.corpus import import_cpt
    from assistant.retrieval import build_index

    settings = Settings.from_env()
    codebook = Codebook.load(settings.corpus_dir / "codes")
    try:
        count = import_cpt(file, settings.data_dir, codebook)
        report = build_index(settings, codebook)
    except CorpusError as exc:
        _fail(str(exc), 2)
    except ChromaServerError as exc:
        _fail(str(exc), 1)
    click.echo(f"Imported {count} licensed descriptors; index updated ({report.embedded} chunks embedded).")


if __name__ == "__main__":
    run()

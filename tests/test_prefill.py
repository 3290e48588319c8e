"""A one-shot ask loads the embedded model and evaluates the drafts' fixed opening in the background while it
reads the question and searches; the draft it then writes is the draft written without that head start."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant

DRAFT_SCRIPT = """
import json, sys
from assistant.pipeline import Assistant
assistant = Assistant(progress=False)
if sys.argv[1] == "prefill":
    assistant.prepare_draft()
pieces = []
answer = assistant.ask("Kyphoplasty T12 and L1, codes?", "2025-03-01", on_token=pieces.append)
print(json.dumps({"draft": "".join(pieces), "rejected": [r.code for r in answer.rejected],
                  "passed": answer.llm.draft_passed, "answer": answer.answer}))
"""


def test_without_the_embedded_model_nothing_is_prepared(tmp_path):
    assistant = Assistant(Settings.from_env(data_dir=tmp_path, llm_backend="none"), progress=False)
    assistant.prepare_draft()
    assert assistant._prefilling is None


@pytest.mark.slow
def test_a_prefilled_cold_draft_is_the_draft_written_without_it(real_assistant):
    """Three cold processes: no head start; the opening evaluated (and its state kept); the kept state read."""
    settings = real_assistant.settings
    real_assistant.index  # noqa: B018 - the index is built before the cold processes open it
    shutil.rmtree(settings.data_dir / "prefill", ignore_errors=True)
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_LLM": "gguf",
           "ASSISTANT_LLM_THREADS": "1"}  # one thread every way: the comparison does not depend on the load

    def draft(way: str) -> dict:
        done = subprocess.run([sys.executable, "-c", DRAFT_SCRIPT, way], env=env, capture_output=True, text=True,
                              timeout=600, check=True)
        return json.loads(done.stdout)

    cold = draft("cold")
    assert cold["draft"]
    assert draft("prefill") == cold
    [kept] = (settings.data_dir / "prefill").glob("prefill-*.npz")
    written = kept.stat().st_mtime_ns
    assert draft("prefill") == cold
    assert kept.stat().st_mtime_ns == written  # read, not evaluated and written again


@pytest.mark.slow
def test_prefilling_evaluates_the_system_message_once(real_assistant):
    from assistant.chain import system_messages

    model = real_assistant.model()
    model.prefill(system_messages(real_assistant.settings.prompt))
    llama = model._client()
    evaluated = llama.n_tokens
    assert evaluated > 20  # the system message's tokens (and one written token) are in the model's cache
    model.prefill(system_messages(real_assistant.settings.prompt))
    assert llama.n_tokens == evaluated


def test_a_rejected_question_ends_cleanly_while_the_model_prepares(tmp_path):
    """The one-shot ask waits for the background preparation before it exits with the error."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path), "ASSISTANT_LLM": "gguf"}
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", " ", "--dos", "2025-03-01"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: the question is empty"

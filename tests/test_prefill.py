"""A fresh embedded model starts from the state kept after the draft prompt's system message (or evaluates that
message alone and keeps the state); the draft it then writes is the draft written without that head start."""

import json
import os
import shutil
import subprocess
import sys

import pytest

DRAFT_SCRIPT = """
import json, sys
from assistant.pipeline import Assistant
assistant = Assistant(progress=False)
if sys.argv[1] == "plain":
    assistant.model().prefill_dir = None
pieces = []
answer = assistant.ask("Kyphoplasty T12 and L1, codes?", "2025-03-01", on_token=pieces.append)
print(json.dumps({"draft": "".join(pieces), "rejected": [r.code for r in answer.rejected],
                  "passed": answer.llm.draft_passed, "answer": answer.answer}))
"""

pytestmark = pytest.mark.slow


def test_a_draft_from_the_kept_opening_is_the_draft_written_without_it(real_assistant):
    """Three cold processes: the whole prompt evaluated at once; the opening evaluated alone and kept; the kept
    state read back."""
    settings = real_assistant.settings
    assert real_assistant.model().prefill_dir == settings.data_dir / "prefill"
    real_assistant.index  # noqa: B018 - the index is built before the cold processes open it
    shutil.rmtree(settings.data_dir / "prefill", ignore_errors=True)
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_LLM": "gguf",
           "ASSISTANT_LLM_THREADS": "1"}  # one thread every way: the comparison does not depend on the load

    def draft(way: str) -> dict:
        done = subprocess.run([sys.executable, "-c", DRAFT_SCRIPT, way], env=env, capture_output=True, text=True,
                              timeout=600, check=True)
        return json.loads(done.stdout)

    plain = draft("plain")
    assert plain["draft"]
    assert not (settings.data_dir / "prefill").exists()
    assert draft("kept") == plain
    [kept] = (settings.data_dir / "prefill").glob("prefill-*.npz")
    written = kept.stat().st_mtime_ns
    assert draft("kept") == plain
    assert kept.stat().st_mtime_ns == written  # read, not evaluated and written again

"""The embedded model's state after a draft's fixed opening (its system message), kept on disk so that a cold
process reads it instead of evaluating those tokens again.

A file is named by a hash of everything that state depends on: the GGUF file (path, size, modification
time), its chat template, the llama-cpp-python version, the context size and the opening's messages. A
changed model, template or system message therefore names another file; a file that cannot be read is
evaluated again and replaced. Files are written whole (a temporary file renamed), so a reader never sees
half of one."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from assistant.whole_file import save_arrays

STATE_FILE_PREFIX = "prefill-"


def state_file(folder: Path, llama, model_path: str, n_ctx: int, messages: list[dict[str, str]]) -> Path:
    """Where the state after `messages` is kept for this model, build and context size."""
    import llama_cpp

    stat = Path(model_path).stat()
    identity = {
        "model": [str(Path(model_path).resolve()), stat.st_size, stat.st_mtime_ns],
        "template": llama.metadata.get("tokenizer.chat_template", ""),
        "llama_cpp": llama_cpp.__version__,
        "n_ctx": n_ctx,
        "messages": messages,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
    return folder / f"{STATE_FILE_PREFIX}{digest}.npz"


def restore(llama, path: Path) -> bool:
    """Load the state kept in `path` into the model; False (the model untouched) when there is none or it
    cannot be read."""
    from llama_cpp import LlamaState

    try:
        with np.load(path) as saved:
            state = LlamaState(input_ids=saved["input_ids"], scores=saved["scores"], n_tokens=int(saved["n_tokens"]),
                               llama_state=saved["llama_state"].tobytes(),
                               llama_state_size=int(saved["llama_state"].size), seed=int(saved["seed"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return False
    try:
        llama.load_state(state)
    except (RuntimeError, ValueError):
        llama.reset()
        return False
    return True


def keep(llama, path: Path) -> None:
    """Write the model's current state to `path` (whole or not at all). Of the logits only the last token's
    are kept: a draft that reuses the opening evaluates its own tokens after it before it samples (the
    restored state is marked as needing evaluation), so the opening's logits are never read."""
    state = llama.save_state()
    save_arrays(path, input_ids=state.input_ids, scores=state.scores[-1:], n_tokens=state.n_tokens,
                llama_state=np.frombuffer(state.llama_state, dtype=np.uint8), seed=state.seed)

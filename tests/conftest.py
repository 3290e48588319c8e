from __future__ import annotations

from datetime import date

import pytest

from assistant import facts as facts_stage
from assistant.codebook import Codebook
from assistant.config import Settings

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    return Codebook.load()


@pytest.fixture(scope="session")
def parse(codebook):
    def _parse(question: str, dos=None, history=()):
        return facts_stage.parse(question, dos, history, today=TODAY, conditions=codebook.condition_terms(),
                                 encounters=codebook.encounter_terms(), cues=codebook.cue_terms())
    return _parse


@pytest.fixture(scope="session")
def derive(parse, codebook):
    def _derive(question: str, dos=None, history=()):
        return codebook.derive(parse(question, dos, history))
    return _derive


def code_set(derivation) -> set[tuple[str, int, tuple[str, ...]]]:
    return {(c.code, c.units, tuple(c.modifiers)) for c in derivation.codes}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def real_assistant(data_dir):
    """The real pipeline: real index on the real corpus, real embedded model."""
    from assistant.pipeline import Assistant

    return Assistant(Settings.from_env(data_dir=data_dir, llm_backend="gguf"), progress=False)

"""The eval suite on the real pipeline (real index, embedded model) and its baselines: the CI gate."""

import pytest

from assistant.config import Settings
from assistant.eval_runner import run_eval

pytestmark = pytest.mark.slow


def test_full_pipeline_meets_the_thresholds(data_dir, capsys):
    outcome = run_eval(settings=Settings.from_env(data_dir=data_dir, llm_backend="gguf"), progress=False)
    with capsys.disabled():
        print("\n" + outcome.summary_text())
    assert outcome.paths["json"].exists() and outcome.paths["md"].exists() and outcome.paths["png"].exists()
    assert set(outcome.summary) >= {"llm_only", "rag_llm", "full"}
    assert outcome.passed, outcome.failures

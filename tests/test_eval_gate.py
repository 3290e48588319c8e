"""The eval suite on the real pipeline (real index, embedded model) and its baselines: the CI gate.
The full pipeline answers every case (the gate is on all of them); the model-bound runs (the model-only
baselines and the full pipeline's draft) use the fixed stratified sample set in evals/thresholds.yaml."""

import pytest
import yaml

from assistant.config import PROJECT_ROOT, Settings
from assistant.eval_runner import run_eval

pytestmark = pytest.mark.slow


def test_full_pipeline_meets_the_thresholds(data_dir, capsys):
    sample = yaml.safe_load((PROJECT_ROOT / "evals" / "thresholds.yaml").read_text())["ci_model_sample"]
    outcome = run_eval(settings=Settings.from_env(data_dir=data_dir, llm_backend="gguf"), progress=False,
                       sample=sample)
    with capsys.disabled():
        print("\n" + outcome.summary_text())
    assert outcome.paths["json"].exists() and outcome.paths["md"].exists() and outcome.paths["png"].exists()
    assert set(outcome.summary) >= {"llm_only", "rag_llm", "full"}
    assert outcome.summary["full"]["cases"] > outcome.sampled["llm_only"]["cases"]
    assert outcome.passed, outcome.failures

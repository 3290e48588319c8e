"""The eval suite on the real pipeline (real index, embedded model) and its baselines: the CI gate.
The full pipeline answers every case (the gate is on all of them); the model-bound runs (the model-only
baselines and the full pipeline's draft) use the fixed stratified sample set in evals/thresholds.yaml.
With an OpenAI-compatible server (ASSISTANT_TEST_OPENAI_URL, which .ci/run starts: llama-cpp-python's
own server on the same GGUF file) baseline (d) runs too, on its own smaller sample."""

import pytest
import yaml

from assistant.config import PROJECT_ROOT, Settings
from assistant.eval_runner import run_eval

pytestmark = pytest.mark.slow


def test_full_pipeline_meets_the_thresholds(data_dir, openai_endpoint, capsys):
    thresholds = yaml.safe_load((PROJECT_ROOT / "evals" / "thresholds.yaml").read_text())
    served = {} if openai_endpoint is None else {"openai_base_url": openai_endpoint.url,
                                                 "openai_model": openai_endpoint.model}
    outcome = run_eval(settings=Settings.from_env(data_dir=data_dir, llm_backend="gguf", **served), progress=False,
                       sample=thresholds["ci_model_sample"], openai_sample=thresholds["ci_openai_sample"])
    with capsys.disabled():
        print("\n" + outcome.summary_text())
    assert outcome.paths["json"].exists() and outcome.paths["md"].exists() and outcome.paths["png"].exists()
    assert set(outcome.summary) >= {"llm_only", "rag_llm", "full"}
    assert outcome.summary["full"]["cases"] > outcome.sampled["llm_only"]["cases"]
    assert outcome.passed, outcome.failures
    if openai_endpoint is not None:
        served_figures = outcome.summary["full_openai"]
        # (d) is rule-checked like (c): whatever the server's model writes, no unchecked code reaches an answer
        assert served_figures["cases"] == outcome.sampled["full_openai"]["cases"]
        assert served_figures["drafts_streamed"] > 0 and served_figures["tokens_per_s"]
        assert (served_figures["errors"], served_figures["forbidden_reported"], served_figures["unverified_codes"]) == \
            (0, 0, 0)
        assert "## (c) embedded model and (d) OpenAI-compatible server" in outcome.paths["md"].read_text()

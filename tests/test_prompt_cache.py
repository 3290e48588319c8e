"""The kept prompt state: named by everything it depends on, written whole, and ignored when unreadable."""

import numpy as np
import pytest
from llama_cpp import LlamaState

from assistant import prompt_cache

OPENING = [{"role": "system", "content": "You are a certified medical coder."}]


class FakeLlama:
    """The part of llama_cpp.Llama the cache uses: its metadata and its state."""

    def __init__(self, template: str = "chatml") -> None:
        self.metadata = {"tokenizer.chat_template": template}
        self.loaded: LlamaState | None = None
        self.was_reset = False

    def save_state(self) -> LlamaState:
        return LlamaState(input_ids=np.arange(8, dtype=np.intc), scores=np.ones((3, 5), dtype=np.single), n_tokens=3,
                          llama_state=b"\x01\x02\x03", llama_state_size=3, seed=0)

    def load_state(self, state: LlamaState) -> None:
        self.loaded = state

    def reset(self) -> None:
        self.was_reset = True


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"weights")
    return path


def test_the_file_is_named_by_the_model_its_template_the_context_and_the_opening(tmp_path, model_file):
    def name(llama=None, n_ctx=2048, messages=OPENING):
        return prompt_cache.state_file(tmp_path, llama or FakeLlama(), str(model_file), n_ctx, messages)

    first = name()
    assert first == name() and first.parent == tmp_path
    other_opening = [{"role": "system", "content": "You are a coder."}]
    assert len({first, name(n_ctx=4096), name(messages=other_opening), name(llama=FakeLlama("llama-3"))}) == 4
    model_file.write_bytes(b"other weights")
    assert name() != first


def test_a_kept_state_is_read_back_with_the_last_logits_only(tmp_path, model_file):
    path = prompt_cache.state_file(tmp_path / "prefill", FakeLlama(), str(model_file), 2048, OPENING)
    prompt_cache.keep(FakeLlama(), path)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    llama = FakeLlama()
    assert prompt_cache.restore(llama, path)
    state = llama.loaded
    assert state.n_tokens == 3 and state.llama_state == b"\x01\x02\x03" and state.llama_state_size == 3
    assert state.scores.shape == (1, 5) and list(state.input_ids) == list(range(8))


def test_a_missing_or_unreadable_file_leaves_the_model_to_evaluate(tmp_path):
    llama = FakeLlama()
    assert not prompt_cache.restore(llama, tmp_path / "absent.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a numpy file")
    assert not prompt_cache.restore(llama, broken)
    prompt_cache.keep(FakeLlama(), broken)
    broken.write_bytes(broken.read_bytes()[:100])  # cut short
    assert not prompt_cache.restore(llama, broken)
    assert llama.loaded is None


def test_a_state_the_model_refuses_resets_it(tmp_path, model_file):
    path = tmp_path / "state.npz"
    prompt_cache.keep(FakeLlama(), path)

    class Refusing(FakeLlama):
        def load_state(self, state):
            raise RuntimeError("Failed to set llama state data")

    llama = Refusing()
    assert not prompt_cache.restore(llama, path)
    assert llama.was_reset

"""The embedded model's thread count: the free cores, one when the CPU is contended (issue 12)."""

import os

import pytest

from assistant import llm_threads
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.llm_threads import other_runnable_tasks, threads_for_answer, usable_cores


@pytest.mark.parametrize(("busy", "threads"), [(0, 2), (1, 1), (2, 1), (9, 1), (None, 1)])
def test_threads_are_the_cores_no_other_task_wants(monkeypatch, busy, threads):
    monkeypatch.setattr(llm_threads, "other_runnable_tasks", lambda readings=3: busy)
    assert threads_for_answer(cores=2) == threads


def test_the_run_queue_is_read_without_counting_this_process(monkeypatch, tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3\nprocs_running 3\nprocs_blocked 0\n")
    monkeypatch.setattr(llm_threads, "PROC_STAT", stat)
    own = llm_threads._own_runnable_threads()
    assert own >= 1  # the thread reading is running
    assert other_runnable_tasks(readings=2) == max(0, 3 - own)
    monkeypatch.setattr(llm_threads, "PROC_STAT", tmp_path / "missing")
    assert other_runnable_tasks() is None and threads_for_answer(cores=4) == 1


def test_usable_cores_follow_the_affinity():
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


def test_thread_setting_is_auto_or_a_positive_count(monkeypatch):
    monkeypatch.delenv("ASSISTANT_LLM_THREADS", raising=False)
    assert Settings.from_env().llm_threads is None
    monkeypatch.setenv("ASSISTANT_LLM_THREADS", "3")
    assert Settings.from_env().llm_threads == 3
    monkeypatch.setenv("ASSISTANT_LLM_THREADS", "auto")
    assert Settings.from_env().llm_threads is None
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("ASSISTANT_LLM_THREADS", bad)
        with pytest.raises(ConfigError, match="ASSISTANT_LLM_THREADS"):
            Settings.from_env()


@pytest.mark.slow
def test_the_embedded_model_runs_on_the_fitted_thread_count(monkeypatch):
    from langchain_core.messages import HumanMessage
    from llama_cpp import llama_n_threads, llama_n_threads_batch

    from assistant.llm import GGUFChatModel, default_gguf_path

    model = GGUFChatModel(model_path=default_gguf_path(), max_tokens=8)
    llama = model._client()
    monkeypatch.setattr("assistant.llm.threads_for_answer", lambda readings=None: 1)
    assert model.invoke([HumanMessage(content="Say yes.")]).content
    assert llama_n_threads(llama.ctx) == llama_n_threads_batch(llama.ctx) == 1
    model.threads = 2  # a fixed count wins over the fitted one
    model._fit_threads(llama)
    assert llama_n_threads(llama.ctx) == 2

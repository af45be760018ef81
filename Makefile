# Two commands a user needs (see README):
#   make report   set up, then build both PDFs with the default preset (snakemake --cores 8)
#   make test     set up, then run the test suite (what CI runs)
#   make test-fast  the suite without Snakemake builds, PDFs or SLURM (a few minutes)
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
CORES ?= 8

.PHONY: setup report test test-fast lint mutants clean
setup:
	@scripts/setup.sh

report: setup
	snakemake --cores $(CORES)

test: setup
	python -m pytest -ra --durations=10

# The markers are declared in pyproject.toml; a test that runs Snakemake, renders a PDF or needs
# SLURM carries one of them.
test-fast: setup
	python -m pytest -ra -m "not workflow and not report and not cluster"

lint: setup
	ruff check src tests scripts
	snakemake --lint

# Mutation testing of the verdict and display code against the fast tests (slow: see README).
mutants: setup
	python scripts/mutants.py --jobs $(or $(JOBS),1) --sample $(or $(SAMPLE),1)

clean:
	rm -rf results .snakemake mutants

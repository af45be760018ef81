# Two commands a user needs (see README):
#   make report   set up, then build both PDFs with the default preset (snakemake --cores 8)
#   make test     set up, then run the test suite
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
CORES ?= 8

.PHONY: setup report test lint mutants clean
setup:
	@scripts/setup.sh

report: setup
	snakemake --cores $(CORES)

test: setup
	python -m pytest -ra

lint: setup
	ruff check src tests scripts
	snakemake --lint

# Mutation testing of the verdict and display code against the fast tests (slow: see README).
mutants: setup
	python scripts/mutants.py --jobs $(or $(JOBS),1) --sample $(or $(SAMPLE),1)

clean:
	rm -rf results .snakemake mutants

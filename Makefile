# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-encrypted bench demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/crm-bot run

demo: $(STAMP)
	$(BIN)/crm-bot demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider
	$(MAKE) test-encrypted

# the store's tests once more, on SQLite encrypted with SQLCipher (CRM_DB_KEY's path)
test-encrypted: $(STAMP)
	CRM_TEST_SQLCIPHER=1 $(BIN)/python -m pytest -q -p no:cacheprovider -k "not postgresql" \
		tests/test_store.py tests/commands tests/test_erasure.py tests/test_encryption.py

# `make bench BENCH_ARGS="--quick"` for the bounded run (10k customers, smaller loads)
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

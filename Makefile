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

# Everything, in two phases: the suite on three workers (pytest-xdist; on 2 cores, since tests spend much of
# their time waiting for servers and subprocesses: 158 s against 193 s on two, 150 s on four), the
# store-at-rest tests also on a
# SQLCipher-encrypted store (--sqlcipher-too); then the `solo` tests (load bursts, kill -9 and restart,
# relay pacing) one at a time, since what they measure needs the CPU to themselves. Both phases always
# run; make fails if either failed. The slow tests are handed out first and two at a time
# (--maxschedchunk 2), so that the workers share them instead of one worker getting them all.
test: $(STAMP)
	@status=0; \
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 3 --maxschedchunk 2 --sqlcipher-too -m "not solo" || status=$$?; \
	$(BIN)/python -m pytest -q -p no:cacheprovider -m solo || status=$$?; \
	exit $$status

# every SQLite test of the store, commands, erasure and encryption on an encrypted store (what
# `make test` covers with --sqlcipher-too, as a run of its own)
test-encrypted: $(STAMP)
	CRM_TEST_SQLCIPHER=1 $(BIN)/python -m pytest -q -p no:cacheprovider -k "not postgresql" \
		tests/test_store.py tests/commands tests/test_erasure.py tests/test_encryption.py

# `make bench BENCH_ARGS="--quick"` for the bounded run (10k customers, smaller loads)
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# attnlab: `make demo` and `make test` work from a fresh clone.
# The venv holds the exact PyTorch that tch links against; torch-sys finds it
# through LIBTORCH_USE_PYTORCH and the venv's python. Binaries carry an rpath
# to its libraries (see build/link_libtorch.rs), so nothing else is needed at run time.

VENV      := $(CURDIR)/.venv
export VIRTUAL_ENV := $(VENV)
export PATH := $(VENV)/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1
CARGO     ?= cargo
BIN       := target/debug/attnlab
STAMP     := $(VENV)/.torch-2.13.0
MLFLOW_VENV := $(CURDIR)/.venv-mlflow

.PHONY: all bootstrap build demo test data slurm browser bench clean-store

all: build

$(STAMP): scripts/bootstrap-venv.sh
	bash scripts/bootstrap-venv.sh $(VENV)

bootstrap: $(STAMP)

build: $(STAMP)
	$(CARGO) build --locked --bins

demo: build
	$(BIN) run experiments/quickstart.yaml
	$(BIN) report quickstart -o reports/quickstart.html

# ml-100k and the Open Bandit Dataset (sha256-checked, idempotent) and a
# pinned MLflow server are real inputs of the tests; all are installed once
# and reused.
data: build
	$(BIN) data fetch ml-100k
	$(BIN) data fetch obd

# Slurm + munge (Debian packages) for the array-job tests' one-node cluster.
slurm:
	bash scripts/install-slurm.sh

# Debian's Chromium for the report's browser tests (headless, DevTools protocol).
browser:
	bash scripts/install-chromium.sh

test: data slurm browser
	bash scripts/bootstrap-mlflow.sh $(MLFLOW_VENV)
	ATTNLAB_TEST_MLFLOW=$(MLFLOW_VENV)/bin/mlflow $(CARGO) test --locked --workspace

clean-store:
	rm -rf .attnlab

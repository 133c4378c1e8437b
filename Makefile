# Helicopter: `make demo` and `make test` set everything up themselves on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
export LAKEHOUSE_ROOT ?= $(CURDIR)/lakehouse
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export PYSPARK_PYTHON := $(CURDIR)/$(BIN)/python
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(BIN)/python

.PHONY: setup demo test unit lint audit bench lock airflow-db airflow-dags clean check-java fonts

setup: $(VENV)/.installed $(VENV)/.jars

check-java:
	@command -v java >/dev/null || { echo "Java 17 is required: apt-get install openjdk-17-jre-headless (or set JAVA_HOME)"; exit 1; }
	@java -version 2>&1 | grep -qE 'version "17' || { echo "Java 17 is required, found: $$(java -version 2>&1 | head -1). Install openjdk-17-jre-headless and set JAVA_HOME"; exit 1; }
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }

$(VENV)/.installed: requirements.lock setup.cfg pyproject.toml | check-java
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	$(BIN)/uv pip sync -q --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

# Spark fetches the Delta jars from Maven Central on first start and caches them under ~/.ivy2.5.2.
$(VENV)/.jars: $(VENV)/.installed
	$(BIN)/python -m jobs.spark_session --check || { echo "Could not get the Delta jars from Maven Central (io.delta:delta-spark_4.2_2.13); check the network and ~/.ivy2.5.2"; exit 1; }
	touch $@

# the project's Airflow metadata database (tests use their own, in a temporary folder)
airflow-db: setup
	$(BIN)/airflow db migrate >/dev/null

# parse the DAGs into the project's AIRFLOW_HOME, list them, and fail on any import error
airflow-dags: airflow-db
	$(BIN)/airflow dags reserialize >/dev/null 2>&1
	$(BIN)/airflow dags list 2>/dev/null
	@$(BIN)/airflow dags list-import-errors 2>/dev/null | grep -q "No data found" || { $(BIN)/airflow dags list-import-errors; exit 1; }

demo: setup
	$(BIN)/helicopter demo

PYTHON_FOLDERS := jobs simulator dags tests bench evaluation

# style (ruff) and the house's layers (import-linter, contracts in setup.cfg)
lint: setup
	$(BIN)/ruff check $(PYTHON_FOLDERS)
	$(BIN)/ruff format --check $(PYTHON_FOLDERS)
	$(BIN)/lint-imports

# test processes (pytest-xdist; a module's tests stay in one, with its fixtures): one per core of a 2-core machine
TEST_WORKERS ?= 2

# the simulator draws Chinese documents (tests, the reader's studies) in Debian's WenQuanYi Micro Hei, installed when
# missing (simulator/vouchers/documents.py names the file)
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	@test -f $(CJK_FONT) || { [ "$$(id -u)" = 0 ] && apt-get update -qq >/dev/null && apt-get install -y -qq fonts-wqy-microhei >/dev/null; } || { echo "The simulator's CJK font $(CJK_FONT) is missing: apt-get install fonts-wqy-microhei (as root)"; exit 1; }

# the serving-store tests run on SQLite and on a real PostgreSQL server that .ci/postgres-up installs and starts
test: setup lint fonts
	@url=$$(.ci/postgres-up) || { [ -z "$$CI" ] || exit 1; echo "warning: no PostgreSQL server, its tests will skip"; }; \
	TEST_POSTGRES_URL=$$url $(BIN)/python -m pytest -q --durations=25 -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder tests

# the fast tier: transforms, contracts, gates and CLI on small inline data (no whole flow, DAG run, cluster, chaos or
# real data set)
unit: setup lint fonts
	$(BIN)/python -m pytest -q --durations=10 -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not integration and not e2e and not cluster and not chaos and not realdata" tests

# the locked requirements against PyPI's known vulnerabilities (pip-audit); accepted ones are listed in .ci/audit
audit: setup
	.ci/audit

bench: setup fonts
	$(BIN)/python -m bench
	$(BIN)/python -m bench.features
	$(BIN)/python -m bench.graph
	$(BIN)/python -m bench.simulate
	$(BIN)/python -m bench.farm
	$(BIN)/python -m bench.training
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.night_profile
	SPARK_DRIVER_MEMORY=$${SPARK_DRIVER_MEMORY:-8g} $(BIN)/python -m evaluation.model --without vouchers
	$(BIN)/python -m bench.vouchers
	$(BIN)/python -m bench.documents ../shared/data
	TEST_POSTGRES_URL=$$(.ci/postgres-up) $(BIN)/python -m bench.serving
	$(BIN)/python -m bench.apply
	$(BIN)/python -m bench.demo
	$(BIN)/python -m bench.freshness

# every transitive pin, with hashes, from setup.cfg's requirements and extras (pins already locked are kept)
lock:
	$(BIN)/uv pip compile setup.cfg --all-extras --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) lakehouse .airflow .pytest_cache

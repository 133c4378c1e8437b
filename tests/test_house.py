"""The house plan: every table has one producer named in its contract, every list of tables comes from the
contracts, the DAG files reach the product only through orchestration, and setup.cfg names what the code imports."""

from __future__ import annotations

import ast
import configparser
import importlib
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from jobs import catalog

ROOT = Path(__file__).resolve().parents[1]
STEPS = {"ingest", "features", "train", "score", "apply"}


@pytest.mark.parametrize("c", catalog.all_contracts(), ids=lambda c: c.fqn)
def test_every_table_has_one_producer_that_can_write_it(c):
    assert c.step in STEPS, c.fqn
    module = importlib.import_module(c.module)
    if c.module == catalog.STEP_RECORDERS.get(c.step):  # the step's own records of its runs, by the module running it
        assert callable(getattr(module, c.step, None) or getattr(module, "run", None)), c.module
        assert c.fqn in ("bronze.file_ledger", "silver.ingest_batches", "silver.feature_runs"), c.fqn
    elif c.step == "ingest":  # a landing source's tables, written by the one ingest flow from its `SOURCE`
        assert c.fqn in (module.SOURCE.silver, module.SOURCE.bronze, module.SOURCE.quarantine) or c.layer == "silver"
    else:  # a step's table, or an application's (`apply`)
        assert callable(getattr(module, "run", None) or getattr(module, "train", None) or getattr(module, c.step)), c
    known = {x.fqn for x in catalog.all_contracts()} | {
        f"landing.{p.stem}" for p in (ROOT / "schemas/landing").glob("*")
    }
    assert set(c.reads) <= known, (c.fqn, set(c.reads) - known)


def literal_reads(module: str) -> set[str]:
    """The tables a module reads by name: `tables.read(spark, settings, "<layer>.<name>")`."""
    source = Path(importlib.import_module(module).__file__).read_text()
    return set(re.findall(r'tables\.read\(\s*spark,\s*\w+,\s*"((?:bronze|silver|gold)\.\w+)"', source))


@pytest.mark.parametrize("module", sorted({c.module for c in catalog.all_contracts() if c.step != "ingest"}))
def test_a_producer_reads_only_what_its_contracts_say(module):
    own = [c for c in catalog.all_contracts() if c.module == module]
    declared = {t for c in own for t in c.reads} | {c.fqn for c in own}
    assert literal_reads(module) <= declared, literal_reads(module) - declared


def test_the_features_step_runs_each_producer_after_what_it_reads():
    order = catalog.producers("features")
    recorder = catalog.STEP_RECORDERS["features"]
    assert sorted(order) == sorted({c.module for c in catalog.all_contracts() if c.step == "features"} - {recorder})
    position = {m: i for i, m in enumerate(order)}
    for c in catalog.all_contracts():
        for t in c.reads:
            upstream = catalog.contract(t) if not t.startswith("landing.") else None
            if c.step == "features" and upstream is not None and upstream.step == "features":
                assert position[upstream.module] <= position[c.module], (c.fqn, t)
    assert catalog.ingest_sources()[0] == "entities"  # the registry first: the others' rows are checked against it


def test_dag_files_reach_the_product_only_through_orchestration():
    for path in sorted((ROOT / "dags").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert {m for m in imported if m and m.startswith("jobs")} <= {"jobs"}, path.name
        uses = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "jobs" for a in n.names}
        assert uses <= {"orchestration"}, path.name


def third_party_imports(folder: str) -> set[str]:
    found = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found |= {n.split(".")[0] for n in names}
    return {n for n in found if n not in sys.stdlib_module_names and n not in ("jobs", "simulator", "__future__")}


def declared(section: str, key: str) -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [line.strip() for line in cfg[section][key].splitlines()]
    return {normal(re.split(r"[<>=\[ ]", line)[0]) for line in lines if line and not line.startswith("#")}


def normal(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


@pytest.mark.parametrize(("folder", "extras"), [("jobs", ()), ("simulator", ("simulator",))])
def test_setup_cfg_lists_every_package_the_code_imports(folder, extras):
    listed = declared("options", "install_requires")
    for extra in extras:
        listed |= declared("options.extras_require", extra)
    distributions = packages_distributions()
    missing = {
        module
        for module in third_party_imports(folder)
        if not any(normal(d).startswith(name) for d in distributions.get(module, [module]) for name in listed)
    }
    assert missing == set(), f"{folder} imports {sorted(missing)}, which setup.cfg does not list"


def test_the_tables_page_is_generated_from_the_contracts():
    page = ROOT / "docs" / "tables.md"
    assert page.read_text() == catalog.tables_page(), "docs/tables.md is stale: python -m jobs.catalog > docs/tables.md"

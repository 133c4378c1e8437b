"""The serving store (atomic publish, verification, rollback, lookup) and the HTTP API over it. No Spark."""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jobs.errors import ServingError, UnknownEntity
from jobs.serve import store
from jobs.serve.api import API_KEY_HEADER, create_app
from jobs.settings import load_settings

NIGHT_A, NIGHT_B = "2026-03-01", "2026-03-02"
MODEL = {NIGHT_A: "pd-2026-02-01", NIGHT_B: "pd-2026-03-01"}


def night(as_of: str, n: int = 3, model_version: str | None = None) -> list[dict]:
    """Serving rows of one night for entities E1..En, with values that differ from night to night."""
    shift = 0.001 if as_of == NIGHT_B else 0.0
    return [
        {
            "as_of_date": as_of,
            "entity_id": f"E{i}",
            "segment": "online_merchant" if i % 2 else "farmer",
            "pd": round(0.01 * i + shift, 6),
            "limit_amount": 1000.0 * i + (50.0 if shift else 0.0),
            "currency": "CNY",
            "decision": "approved" if i % 3 else "declined",
            "reason_codes": json.dumps([] if i % 3 else ["PD_ABOVE_CUTOFF", "THIN_FILE"]),
            "model_version": model_version or MODEL.get(as_of, "pd-test"),
            "policy_version": "policy-1",
        }
        for i in range(1, n + 1)
    ]


def publish(eng: sa.Engine, rows: list[dict]) -> store.Published:
    return store.publish(eng, rows, source_rows=len(rows), source_checksum=store.checksum(rows))


def table_names(eng: sa.Engine) -> set[str]:
    return set(sa.inspect(eng).get_table_names())


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """Each test runs on an empty SQLite file and on an empty database of the real PostgreSQL server that `make test`
    starts (its URL in TEST_POSTGRES_URL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/serving.db"
        return
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        pytest.skip("TEST_POSTGRES_URL is not set: `make test` starts PostgreSQL with .ci/postgres-up and sets it")
    name = f"serving_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    # no FORCE: the tests' engines and the app's are closed by now, and a plain DROP also stops an autovacuum worker
    # on the database, where FORCE would need the right to signal it (pg_signal_backend)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE {name}")
    admin.dispose()


@pytest.fixture
def eng(url) -> sa.Engine:
    engine = store.engine(url)
    yield engine
    engine.dispose()


# ---- the store -------------------------------------------------------------------------------------------------


def test_lookup_after_publish_returns_every_field_with_reason_codes_as_a_list(eng):
    rows = night(NIGHT_A)
    publish(eng, rows)
    found = store.lookup(eng, "E3")
    expected = dict(rows[2], reason_codes=["PD_ABOVE_CUTOFF", "THIN_FILE"], decided_at=None)
    assert set(found) == set(store.SERVED)
    assert found == expected
    assert store.lookup(eng, "E1")["reason_codes"] == []


def test_an_on_demand_decision_replaces_one_row_until_the_next_night(eng):
    publish(eng, night(NIGHT_A))
    decided = {**night(NIGHT_B)[0], "reason_codes": ["CAPPED_AT_MAX_LIMIT"], "decided_at": "2026-03-02T10:00:00+08:00"}
    store.decided_on_demand(eng, decided)
    assert store.lookup(eng, "E1") == decided
    assert store.lookup(eng, "E2")["decided_at"] is None and store.current(eng).as_of_date == NIGHT_A
    store.decided_on_demand(eng, {**decided, "entity_id": "E9"})  # a business the night had not scored yet
    assert store.lookup(eng, "E9")["entity_id"] == "E9"
    publish(eng, night(NIGHT_B))  # the next night's rows, decided by the night
    assert store.lookup(eng, "E1") == {**night(NIGHT_B)[0], "reason_codes": [], "decided_at": None}
    with pytest.raises(UnknownEntity):
        store.lookup(eng, "E9")


def test_current_reports_as_of_date_rows_and_model(eng):
    rows = night(NIGHT_A, n=7)
    published = publish(eng, rows)
    now = store.current(eng)
    assert (now.as_of_date, now.rows, now.model_version) == (NIGHT_A, 7, MODEL[NIGHT_A])
    assert now.checksum == store.checksum(rows) == published.checksum


def test_second_publish_keeps_the_first_as_previous_and_rollback_swaps_back_and_forth(eng):
    publish(eng, night(NIGHT_A))
    publish(eng, night(NIGHT_B))
    assert {store.CURRENT, store.PREVIOUS} <= table_names(eng)
    assert store.lookup(eng, "E2")["as_of_date"] == NIGHT_B

    back = store.rollback(eng)
    assert back.as_of_date == NIGHT_A == store.current(eng).as_of_date
    assert store.lookup(eng, "E2") == dict(night(NIGHT_A)[1], reason_codes=[], decided_at=None)

    again = store.rollback(eng)
    assert again.as_of_date == NIGHT_B
    assert store.lookup(eng, "E2")["model_version"] == MODEL[NIGHT_B]


def test_third_publish_drops_the_oldest_night(eng):
    publish(eng, night(NIGHT_A))
    publish(eng, night(NIGHT_B))
    publish(eng, night("2026-03-03"))
    assert store.rollback(eng).as_of_date == NIGHT_B


@pytest.mark.parametrize("bad", ["rows", "checksum"])
def test_failed_verification_raises_keeps_current_and_leaves_no_staging_table(eng, bad):
    publish(eng, night(NIGHT_A))
    rows = night(NIGHT_B)
    source_rows = len(rows) + (1 if bad == "rows" else 0)
    source_checksum = store.checksum(rows) if bad == "rows" else store.checksum(night(NIGHT_B, n=2))
    with pytest.raises(ServingError, match="verification failed"):
        store.publish(eng, rows, source_rows=source_rows, source_checksum=source_checksum)
    assert store.current(eng).as_of_date == NIGHT_A
    assert store.lookup(eng, "E1")["as_of_date"] == NIGHT_A
    assert not [t for t in table_names(eng) if "staging" in t]
    assert store.PREVIOUS not in table_names(eng)


def test_publishing_no_rows_raises(eng):
    with pytest.raises(ServingError, match="nothing to publish"):
        store.publish(eng, [], source_rows=0, source_checksum=store.checksum([]))
    assert not table_names(eng) - {"serving_meta"}


def test_publishing_rows_of_two_as_of_dates_raises(eng):
    rows = night(NIGHT_A, n=2) + [dict(night(NIGHT_B, n=3)[2])]
    with pytest.raises(ServingError, match="one as-of date"):
        publish(eng, rows)
    assert store.CURRENT not in table_names(eng)


def test_lookup_of_an_unknown_id_raises_unknown_entity(eng):
    publish(eng, night(NIGHT_A))
    with pytest.raises(UnknownEntity, match="E999"):
        store.lookup(eng, "E999")


def test_lookup_and_current_before_any_publish_raise_serving_error(eng):
    with pytest.raises(ServingError, match="no limits have been published"):
        store.lookup(eng, "E1")
    with pytest.raises(ServingError, match="no limits have been published"):
        store.current(eng)


def test_rollback_without_a_previous_version_raises(eng):
    with pytest.raises(ServingError, match="nothing to roll back"):
        store.rollback(eng)
    publish(eng, night(NIGHT_A))
    with pytest.raises(ServingError, match="nothing to roll back"):
        store.rollback(eng)
    assert store.current(eng).as_of_date == NIGHT_A


@pytest.mark.chaos
def test_lookups_during_publish_and_rollbacks_never_see_a_mix_or_a_gap(url, eng):
    publish(eng, night(NIGHT_A, n=50))
    reader_engine = store.engine(url)
    reader = store.Reader(reader_engine)
    seen, errors, stop = [], [], threading.Event()

    def lookups() -> None:
        rng = random.Random(7)
        deadline = time.monotonic() + 20
        while not stop.is_set() and len(seen) < 20_000 and time.monotonic() < deadline:
            try:
                seen.append(reader.get(f"E{rng.randint(1, 50)}"))
            except Exception as e:  # noqa: BLE001 - any error is a gap the test reports
                errors.append(repr(e))

    thread = threading.Thread(target=lookups)
    thread.start()
    try:
        time.sleep(0.05)
        publish(eng, night(NIGHT_B, n=50))
        for _ in range(10):  # a few rounds of two rollbacks, so a gap has the chance to show
            time.sleep(0.01)
            assert store.rollback(eng).as_of_date == NIGHT_A
            time.sleep(0.01)
            assert store.rollback(eng).as_of_date == NIGHT_B
    finally:
        stop.set()
        thread.join(timeout=30)
        reader_engine.dispose()
    assert not errors, f"{len(errors)} lookups failed, first: {errors[0]}"
    assert seen
    assert all(r["as_of_date"] in MODEL and r["model_version"] == MODEL[r["as_of_date"]] for r in seen)
    assert store.current(eng).as_of_date == NIGHT_B


# ---- the HTTP API ----------------------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path, url) -> TestClient:
    settings = load_settings(
        {"LAKEHOUSE_ROOT": str(tmp_path), "SERVING_URL": url, "SERVING_API_KEYS": ",".join(["k1", "k2", "k3@E3"])}
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.chaos
def test_api_rejects_a_missing_or_wrong_key_with_401(client, eng):
    publish(eng, night(NIGHT_A))
    assert client.get("/v1/limits/E1").status_code == 401
    assert client.get("/v1/limits/E1", headers={API_KEY_HEADER: "nope"}).status_code == 401


def test_api_returns_the_limit_of_a_known_id_with_either_key(client, eng):
    rows = night(NIGHT_A)
    publish(eng, rows)
    for key in ("k1", "k2"):
        response = client.get("/v1/limits/E3", headers={API_KEY_HEADER: key})
        assert response.status_code == 200
        assert response.json() == dict(rows[2], reason_codes=["PD_ABOVE_CUTOFF", "THIN_FILE"], decided_at=None)


def test_a_business_key_speaks_for_its_business_alone(client, eng):
    publish(eng, night(NIGHT_A))
    assert client.get("/v1/limits/E3", headers={API_KEY_HEADER: "k3"}).status_code == 200
    assert client.get("/v1/limits/E1", headers={API_KEY_HEADER: "k3"}).status_code == 403
    form = {"entity_id": "E1", "declared_type": ["utility_bill"]}
    files = [("document", ("bill.pdf", b"%PDF-1.4", "application/pdf"))]
    for key in ("k3", "k1"):  # another business's key; a system's key, which applies for no business
        response = client.post("/v1/applications", data=form, files=files, headers={API_KEY_HEADER: key})
        assert response.status_code == 403 and response.json()["detail"] == "this key may not act for E1"
    response = client.post("/v1/applications", data=form, files=files, headers={API_KEY_HEADER: "k9"})
    assert response.status_code == 401


def test_api_answers_404_for_an_unknown_id(client, eng):
    publish(eng, night(NIGHT_A))
    response = client.get("/v1/limits/E999", headers={API_KEY_HEADER: "k1"})
    assert response.status_code == 404
    assert "E999" in response.json()["detail"]


def test_api_answers_503_on_limits_and_health_before_any_publish(client):
    assert client.get("/health").status_code == 503
    assert client.get("/v1/limits/E1", headers={API_KEY_HEADER: "k1"}).status_code == 503


def test_health_is_open_and_reports_the_published_night(client, eng):
    publish(eng, night(NIGHT_A, n=4))
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["as_of_date"], body["rows"], body["model_version"]) == (
        "ok",
        NIGHT_A,
        4,
        MODEL[NIGHT_A],
    )


def test_openapi_lists_the_limits_route(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/limits/{entity_id}" in paths
    assert "/health" in paths


def test_create_app_without_keys_raises(tmp_path, url):
    settings = load_settings({"LAKEHOUSE_ROOT": str(tmp_path), "SERVING_URL": url})
    with pytest.raises(ValueError, match="SERVING_API_KEYS"):
        create_app(settings)


@pytest.mark.parametrize(
    "hostile",
    ["E1' OR '1'='1", "E1'; DROP TABLE preapproved_limits; --", 'E1" OR 1=1 --', "%", "E_", "E1%' --"],
)
@pytest.mark.chaos
def test_injection_attempts_find_nothing_and_harm_nothing(eng, hostile):
    publish(eng, night(NIGHT_A))
    with pytest.raises(UnknownEntity):
        store.lookup(eng, hostile)
    with pytest.raises(UnknownEntity):
        store.Reader(eng).get(hostile)
    assert store.lookup(eng, "E1")["entity_id"] == "E1"
    assert store.current(eng).rows == 3


@pytest.mark.chaos
def test_api_refuses_ids_outside_the_contract_before_any_query(client, eng):
    publish(eng, night(NIGHT_A))
    headers = {API_KEY_HEADER: "k1"}
    for hostile in ["E1' OR '1'='1", "E1;DROP TABLE preapproved_limits", "x" * 65]:
        assert client.get(f"/v1/limits/{hostile}", headers=headers).status_code == 422
    assert client.get("/v1/limits/E1", headers=headers).status_code == 200


@pytest.mark.chaos
def test_a_failed_publish_keeps_answering_from_the_last_good_night(eng):
    publish(eng, night(NIGHT_A))
    with pytest.raises(ServingError):
        store.publish(eng, night(NIGHT_B), source_rows=99, source_checksum="0")
    reader = store.Reader(eng)
    assert reader.get("E2")["as_of_date"] == NIGHT_A
    assert store.current(eng).as_of_date == NIGHT_A

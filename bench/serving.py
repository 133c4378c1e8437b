"""Serving benchmarks: publish one million limits, then in-process and HTTP lookups, on SQLite and PostgreSQL.

`python -m bench.serving [--rows N] [--postgres URL]` writes `bench/results/serving.json` and `.md`. The HTTP load
is open-loop (requests sent on a fixed schedule, latency measured from the scheduled time, so a stall is counted,
not hidden) from a client on the same 2 cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, machine_line, record
from jobs.serve import store

SEGMENTS = ("online_merchant", "offline_merchant", "farmer", "distributor", "store")


def limits(rows: int, as_of: str = "2026-11-24") -> list[dict]:
    rng = random.Random(1)
    return [
        {
            "as_of_date": as_of,
            "entity_id": f"E{i:07d}",
            "segment": SEGMENTS[i % 5],
            "pd": rng.random() * 0.3,
            "limit_amount": float(rng.randrange(0, 300_000, 100)),
            "currency": "CNY",
            "decision": "approved" if i % 4 else "declined",
            "reason_codes": json.dumps(["LOW_SALES_90D", "FEW_PAYERS_90D"]),
            "model_version": "pd-bench",
            "policy_version": "limit-policy-1",
        }
        for i in range(rows)
    ]


def quantiles(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99) - 1] * 1e6, 1),
        "n": len(ordered),
    }


def in_process(eng, rows: int, n: int = 100_000) -> dict:
    reader = store.Reader(eng)
    rng = random.Random(2)
    ids = [f"E{rng.randrange(rows):07d}" for _ in range(n)]
    for entity_id in ids[:1000]:  # warm the page cache and the connection
        reader.get(entity_id)
    times = []
    for entity_id in ids:
        start = time.perf_counter()
        reader.get(entity_id)
        times.append(time.perf_counter() - start)
    return quantiles(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _get(reader, writer, path: str) -> int:
    """One HTTP/1.1 GET on a kept-alive connection; returns the status code."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: bench\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def open_loop(port: int, rows: int, rate: int, seconds: float, connections: int = 16) -> dict:
    """Send `rate` requests a second for `seconds` over kept-alive connections (a lean client: raw asyncio streams,
    so that the client's own cost on the shared cores stays small)."""
    rng = random.Random(3)
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies, failures = [], 0

    async def one(scheduled: float) -> None:
        nonlocal failures
        conn = await pool.get()
        status = await _get(*conn, f"/v1/limits/E{rng.randrange(rows):07d}")
        pool.put_nowait(conn)
        failures += status != 200
        latencies.append(time.perf_counter() - scheduled)

    start, tasks = time.perf_counter(), []
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return {**quantiles(latencies), "rate_per_s": rate, "failures": failures}


def over_http(serving_url: str, rows: int, rate: int = 500, seconds: float = 20) -> dict:
    port = free_port()
    env = {**os.environ, "SERVING_URL": serving_url, "SERVING_API_KEYS": "bench"}
    cli = Path(sys.executable).parent / "helicopter"
    server = subprocess.Popen(
        [str(cli), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(open_loop(port, rows, rate, 2))  # warm up
        return asyncio.run(open_loop(port, rows, rate, seconds))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def bench_store(name: str, url: str, rows: list[dict], http: bool) -> dict:
    eng = store.engine(url)
    start = time.perf_counter()
    store.publish(eng, rows, len(rows), store.checksum(rows))  # checksum of the source included: it is part of it
    result = {"publish_seconds": round(time.perf_counter() - start, 2), "in_process": in_process(eng, len(rows))}
    if http:
        result["http"] = over_http(url, len(rows))
    eng.dispose()
    print(name, json.dumps(result), flush=True)
    return result


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"# Serving benchmark ({r['rows']:,} limits)",
        "",
        f"{machine_line(m)}. Recorded {r['recorded']}.",
        "In-process: `store.Reader.get`, 100,000 random ids. HTTP: `helicopter serve` (uvicorn, one process), "
        "open-loop client at a fixed rate on the same machine, latency from the scheduled send time.",
        "",
        "| store | publish (s) | in-process p50 / p99 (us) | HTTP rate | HTTP p50 / p99 (us) | HTTP failures |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in r["stores"].items():
        h = s.get("http", {})
        lines.append(
            f"| {name} | {s['publish_seconds']} | {s['in_process']['p50_us']} / {s['in_process']['p99_us']} "
            f"| {h.get('rate_per_s', '-')} | {h.get('p50_us', '-')} / {h.get('p99_us', '-')} "
            f"| {h.get('failures', '-')} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"), help="server URL (a database is made)")
    a = p.parse_args()
    rows = limits(a.rows)
    work = Path(tempfile.mkdtemp(prefix="helicopter-serving-bench-"))
    stores = {"sqlite": bench_store("sqlite", f"sqlite:///{work}/serving.db", rows, http=True)}
    if a.postgres:
        import sqlalchemy as sa

        admin = sa.create_engine(a.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS serving_bench")
            conn.exec_driver_sql("CREATE DATABASE serving_bench")
        url = sa.engine.make_url(a.postgres).set(database="serving_bench").render_as_string(hide_password=False)
        stores["postgresql"] = bench_store("postgresql", url, rows, http=True)
    from datetime import UTC, datetime

    result = {
        "rows": a.rows,
        "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "stores": stores,
    }
    record("serving", result, markdown(result))


if __name__ == "__main__":
    main()

"""`python -m bench.apply`: how long a business waits for its new limit when it hands over documents.

A simulated world (80 businesses over 500 days, seed 7) through one night (`pipeline.nightly`), then applications
through the HTTP API (`POST /v1/applications`, FastAPI's in-process client, the server warm after one application):
businesses each handing over three of their own documents as text PDFs, and others three photographed ones (the
simulator's photos, as JPEG files, read by the product's OCR). Each is a business's first application of the day. In
the same run, the anchor: the reader alone on each of those documents (`jobs.documents.read.read_document`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import machine, machine_line, record

TEXT, PHOTO = "text PDFs", "photos"


def latency(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


def photo_of(pdf: Path, out: Path) -> Path:
    """The simulator's photographed document (a PDF page without a text layer) as the JPEG file a phone would send:
    the page rendered as the product's OCR renders a scan."""
    from jobs.documents.ocr import pdf_page_images

    pdf_page_images(pdf, [0])[0].convert("RGB").save(out, "JPEG", quality=90)
    return out


def applicants(settings, kind: str, wanted: int, out: Path) -> list[tuple[str, list[tuple[str, Path]]]]:
    """Businesses with three documents of `kind` handed over before, and copies of those documents (their own)."""
    from deltalake import DeltaTable

    docs = DeltaTable(settings.table_path("silver", "voucher_documents")).to_pandas()
    docs = docs[docs["image"] & docs["ocr_path"].notna()] if kind == PHOTO else docs[~docs["image"]]
    chosen = []
    for entity, mine in docs.sort_values("voucher_id").groupby("entity_id"):
        if len(mine) < 3 or len(chosen) == wanted:
            continue
        files = []
        for i, doc in enumerate(mine.head(3).itertuples()):
            source, target = Path(doc.pdf_path), out / f"{entity}-{i}"
            copy = photo_of(source, target.with_suffix(".jpg")) if kind == PHOTO else target.with_suffix(".pdf")
            if kind == TEXT:
                copy.write_bytes(source.read_bytes())
            files.append((doc.declared_type, copy))
        chosen.append((entity, files))
    return chosen


def run(entities: int, days: int, per_kind: int) -> dict:
    from fastapi.testclient import TestClient

    from jobs import pipeline
    from jobs.documents.read import read_document
    from jobs.serve.api import API_KEY_HEADER, create_app
    from jobs.settings import load_settings
    from simulator.world import WorldSpec, simulate

    root = Path(tempfile.mkdtemp(prefix="bench_apply_"))
    spec = WorldSpec(entities=entities, days=days, start=dt.date(2025, 1, 1), seed=7, bad_rate=0.01)
    world = simulate(spec, root / "world")
    as_of = dt.date.fromisoformat(world["end"])
    env = {"LAKEHOUSE_ROOT": str(root / "lakehouse"), "LANDING_DIR": str(root / "world" / "landing")}
    env["SERVING_URL"] = f"sqlite:///{root}/serving.db"
    settings = load_settings(env)
    started = time.perf_counter()
    pipeline.nightly(str(root / "world" / "landing"), as_of, settings=settings)
    night = time.perf_counter() - started

    out = root / "handed_over"
    out.mkdir()
    groups = {kind: applicants(settings, kind, per_kind + (kind == TEXT), out) for kind in (TEXT, PHOTO)}
    keys = [f"k{entity}@{entity}" for kind in groups for entity, _ in groups[kind]]
    app_settings = load_settings({**env, "SERVING_API_KEYS": ",".join(keys)})
    result = {"machine": machine(), "world": {"entities": entities, "days": days, "seed": 7}, "night_seconds": night}
    with TestClient(create_app(app_settings)) as client:

        def apply(entity: str, files: list[tuple[str, Path]]) -> tuple[float, dict]:
            form = {"entity_id": entity, "declared_type": [t for t, _ in files]}
            upload = [("document", (p.name, p.read_bytes())) for _, p in files]
            start = time.perf_counter()
            response = client.post("/v1/applications", data=form, files=upload, headers={API_KEY_HEADER: f"k{entity}"})
            seconds = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"application of {entity} failed: {response.status_code} {response.text[:500]}")
            return seconds, response.json()

        apply(*groups[TEXT].pop(0))  # warm: the first application loads the reader's models and the booster
        for kind, chosen in groups.items():
            seconds, statuses, reading = [], {}, []
            for entity, files in chosen:
                took, decided = apply(entity, files)
                seconds.append(took)
                for d in decided["documents"]:
                    statuses[d["status"]] = statuses.get(d["status"], 0) + 1
                for declared, path in files:
                    start = time.perf_counter()
                    read_document(path, voucher_type=declared)
                    reading.append(time.perf_counter() - start)
            result[kind] = {
                "applications": latency(seconds),
                "statuses": statuses,
                "reader_per_document": latency(reading),
            }
    return result


def markdown(r: dict) -> str:
    w = r["world"]
    lines = [
        "# Applications: a new limit at once",
        "",
        f"{machine_line(r['machine'])}. A simulated world of {w['entities']} businesses over {w['days']} days "
        f"(seed {w['seed']}) through one night ({r['night_seconds']:.0f} s), then applications through "
        "`POST /v1/applications` (FastAPI's in-process client, the server warm), each business handing over three of "
        "its own documents, its first application of the day. The reader alone is timed on the same files, "
        "after each application.",
        "",
        "| three documents as | applications | p50 s | p95 s | max s | reader alone, per document: p50 s | p95 s "
        "| statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for kind in (TEXT, PHOTO):
        a, read = r[kind]["applications"], r[kind]["reader_per_document"]
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(r[kind]["statuses"].items()))
        lines.append(
            f"| {kind} | {a['n']} | {a['p50']:.2f} | {a['p95']:.2f} | {a['max']:.2f} | {read['p50']:.2f} | "
            f"{read['p95']:.2f} | {statuses} |"
        )
    lines += [
        "",
        "Issue #32 asks for at most 1 s at p95 with three text PDFs and 5 s with three photos. With fewer than 20 "
        "applications of a kind, p95 is the second largest at most: read it as a high quantile, not a tail.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entities", type=int, default=80)
    p.add_argument("--days", type=int, default=500)
    p.add_argument("--per-kind", type=int, default=12, help="applications of each kind")
    a = p.parse_args()
    result = run(a.entities, a.days, a.per_kind)
    record("apply", result, markdown(result))
    print(json.dumps({k: result[k] for k in (TEXT, PHOTO)}))


if __name__ == "__main__":
    main()

"""Who hands over which documents and when, and the files and truth of a run.

A share of entities (more of the better ones) hand over a bundle of documents on a day in the window, the types and
counts set per segment by the taxonomy (`schemas/vouchers/taxonomy.yaml`); some come back a second time with fresh
monthly documents.

Landing layout, one folder per submission day:

    landing/vouchers/dt=YYYY-MM-DD/<voucher_id>.pdf        the document
    landing/vouchers/dt=YYYY-MM-DD/<voucher_id>.json       metadata sidecar (every voucher)
    landing/vouchers/dt=YYYY-MM-DD/<voucher_id>.ocr.json   an upstream OCR's reading of the photo (image vouchers only)

Every draw comes from the generator passed in, in a fixed order, and the PDFs carry a fixed creation date and a
content-derived file id, so one generator state gives byte-identical files. Documents are written one at a time."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import numpy as np
import pandas as pd
import pyarrow as pa

from jobs.landing_writers import voucher_sidecar
from simulator.population import sigmoid
from simulator.vouchers.drawers import DRAWERS, Doc, uniform
from simulator.vouchers.names import Holder, holders
from simulator.vouchers.render import draw_style, image_pdf, photo_reading, text_pdf
from simulator.vouchers.tamper import OUT_OF_LINE_FACTOR, draw_tampering, edit_amount, move_date, reuse
from simulator.vouchers.taxonomy import as_date, load_taxonomy

BAD_KINDS = ("corrupt_pdf", "encrypted_pdf", "bad_sidecar")

CHINA = dt.timezone(dt.timedelta(hours=8))

HANDING_SHARE = 0.4  # share of entities that hand over documents at all (at average quality)

SECOND_VISIT = 0.3  # share of those who come back later with fresh monthly documents

IMAGE_SHARE = {"farmer": 0.5, "offline_merchant": 0.35, "store": 0.3, "distributor": 0.2, "online_merchant": 0.15}

TRUTH_BATCH = 20_000


def plan_vouchers(people: list[Holder], start: dt.date, days: int, rng: np.random.Generator) -> pd.DataFrame:
    """One row per document: holder index, type, submission date, seq (months back, or invoice k), share of flows.

    Better entities hand over documents more often; a second visit brings only the recurring documents again.
    """
    types = load_taxonomy()["types"]
    end = start + dt.timedelta(days=days - 1)
    rows = []
    for h in people:
        if h.segment not in IMAGE_SHARE or h.registered >= end:
            continue
        if rng.random() >= sigmoid(np.log(HANDING_SHARE / (1 - HANDING_SHARE)) + 0.6 * h.quality):
            continue
        visits = 2 if rng.random() < SECOND_VISIT else 1
        first = max(int(rng.integers(0, days)), (h.registered - start).days + 1)
        days_of_visits = sorted({first, *(int(rng.integers(first, days)) for _ in range(visits - 1))})
        for visit, offset in enumerate(days_of_visits):
            submitted = start + dt.timedelta(days=offset)
            for name, spec in types.items():
                p = spec["segments"].get(h.segment, 0.0)
                if (visit > 0 and spec["frequency"] == "once") or rng.random() >= p:
                    continue
                lo, hi = spec["count"]
                k = int(rng.integers(lo, hi + 1))
                shares = rng.dirichlet(np.full(k, 3.0)) if spec["frequency"] == "several" else np.ones(k)
                rows += [(h.index, name, submitted, seq + 1, float(shares[seq])) for seq in range(k)]
    plan = pd.DataFrame(rows, columns=["holder", "voucher_type", "submitted_date", "seq", "share"])
    plan = plan.sort_values(["submitted_date", "holder", "voucher_type", "seq"], kind="stable", ignore_index=True)
    plan["voucher_id"] = [f"V{i + 1:08d}" for i in range(len(plan))]
    return plan


TRUTH_SCHEMA = pa.schema(
    [
        ("voucher_id", pa.string()),
        ("entity_id", pa.string()),
        ("voucher_type", pa.string()),
        ("submitted_date", pa.date32()),
        ("document_number", pa.string()),
        ("issue_date", pa.date32()),
        ("amount", pa.float64()),  # the type's headline amount, null when the type has none
        ("currency", pa.string()),
        ("image", pa.bool_()),
        ("tampered", pa.bool_()),
        ("tamper_kind", pa.string()),
        ("reused_from", pa.string()),
        ("tampered_fields", pa.list_(pa.string())),  # what an edit changed on the drawn document
        ("revenue_scale", pa.float64()),  # the revenue the amounts were drawn from, over the holder's (out of line)
        ("bad_input", pa.string()),
        ("layout", pa.int32()),
        ("date_format", pa.string()),
        ("amount_format", pa.string()),
        ("ocr_error_fields", pa.list_(pa.string())),
        ("fields", pa.string()),  # JSON of the values printed on the document: dates ISO, amounts numbers
        ("source", pa.string()),
        ("path", pa.string()),
    ]
)


def fields_json(fields: dict) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=lambda d: d.isoformat())


def write_files(folder: pathlib.Path, voucher_id: str, pdf: bytes, sidecar: str | None, ocr: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{voucher_id}.pdf").write_bytes(pdf)
    if sidecar is not None:
        (folder / f"{voucher_id}.json").write_text(sidecar, encoding="utf-8")
    if ocr is not None:
        (folder / f"{voucher_id}.ocr.json").write_text(ocr, encoding="utf-8")


def break_sidecar(sidecar: str, rng: np.random.Generator) -> str | None:
    """Missing (None) or cut short mid-way so it no longer parses."""
    return None if rng.random() < 0.5 else sidecar[: int(len(sidecar) * uniform(rng, 0.2, 0.8))]


def validate(entities: pd.DataFrame, days: int, bad_rate: float) -> None:
    need = {"entity_id", "segment", "quality", "size", "monthly_revenue", "registered_date", "owner_name", "city"}
    if missing := need - set(entities.columns):
        raise ValueError(f"entities lack columns {sorted(missing)}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if not 0.0 <= bad_rate < 1.0:
        raise ValueError(f"bad_rate must be in [0, 1), got {bad_rate}")


def sold_per_month(sales: pd.DataFrame | None) -> dict[str, dict]:
    """{entity_id: {first day of a month: sales}} from rows of (entity_id, month, sales), every month of the frame
    present for every entity in it (a month it sold nothing in is 0)."""
    if sales is None or sales.empty:
        return {}
    table = sales.pivot_table(index="entity_id", columns="month", values="sales", aggfunc="sum", fill_value=0.0)
    return {e: dict(zip(table.columns, row)) for e, row in zip(table.index, table.to_numpy(float))}


def write_vouchers(
    entities: pd.DataFrame,
    start: dt.date,
    days: int,
    bad_rate: float,
    rng: np.random.Generator,
    out: pathlib.Path,
    sales: pd.DataFrame | None = None,
) -> tuple[pa.Table, dict[str, int]]:
    """Write landing/vouchers under `out`; return (truth vouchers table, {bad kind: count}). `sales` are what each
    business sold per calendar month as the world drew it (entity_id, month, sales), which documents reporting a
    period's flows state."""
    validate(entities, days, bad_rate)
    sold = sold_per_month(sales)
    tax = load_taxonomy()["types"]
    people = holders(entities.reset_index(drop=True), rng)
    plan = plan_vouchers(people, start, days, rng)
    kinds, source = draw_tampering(plan, people, rng)
    needed = set(source[source >= 0].tolist())
    kept: dict[int, dict] = {}  # drawn fields of documents a later copy reuses
    counts = dict.fromkeys(BAD_KINDS, 0)
    batches, rows = [], []
    for i, p in enumerate(plan.itertuples(index=False)):
        h, vtype, kind, submitted = people[p.holder], p.voucher_type, kinds[i], p.submitted_date
        scale = 1.0
        if kind == "out_of_line":
            scale = uniform(rng, *OUT_OF_LINE_FACTOR) ** (1 if rng.random() < 0.5 else -1)
        doc = Doc(h, i, submitted, int(p.seq), float(p.share), h.revenue * scale, sold.get(h.entity_id), scale)
        drawn = fields = DRAWERS[vtype](doc, rng)
        if kind == "reused":
            fields = reuse(kept[source[i]], vtype, h)
        elif kind == "amount_edited":
            fields = edit_amount(fields, tax[vtype]["tamper"]["amount_edited"], rng)
        elif kind == "date_moved":
            fields = move_date(fields, tax[vtype]["tamper"]["date_moved"], doc, rng)
        if i in needed:
            kept[i] = fields
        edited = sorted(n for n in fields if kind in ("amount_edited", "date_moved") and fields[n] != drawn.get(n))

        image = bool(rng.random() < IMAGE_SHARE[h.segment])
        style = draw_style(vtype, rng)
        bad = BAD_KINDS[int(rng.integers(0, 3))] if rng.random() < bad_rate else None
        password = f"{int(rng.integers(0, 10**6)):06d}" if bad == "encrypted_pdf" else None
        created = dt.datetime.combine(as_date(fields["issue_date"]), dt.time(9, 30), tzinfo=CHINA)
        ocr, misread_names = None, None
        if image:
            shade = int(rng.integers(200, 246))
            pdf = image_pdf(shade, created, password)
            reading, misread_names = photo_reading(vtype, fields, style, rng)
            ocr = json.dumps(reading) + "\n"
        else:
            pdf = text_pdf(vtype, fields, style, created, password)
        if bad == "corrupt_pdf":
            pdf = pdf[: int(len(pdf) * uniform(rng, 0.2, 0.8))]
        seconds = int(rng.integers(8 * 3600, 23 * 3600))
        submitted_at = (
            f"{submitted.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+08:00"
        )
        ocr_file = f"{p.voucher_id}.ocr.json" if image else None
        sidecar = voucher_sidecar(
            p.voucher_id, h.entity_id, vtype, submitted_at, image, f"{p.voucher_id}.pdf", ocr_file
        )
        if bad == "bad_sidecar":
            sidecar = break_sidecar(sidecar, rng)
        if bad is not None:
            counts[bad] += 1
        folder = out / "landing" / "vouchers" / f"dt={submitted.isoformat()}"
        write_files(folder, p.voucher_id, pdf, sidecar, ocr)

        headline = tax[vtype]["headline"]
        rows.append(
            {
                "voucher_id": p.voucher_id,
                "entity_id": h.entity_id,
                "voucher_type": vtype,
                "submitted_date": submitted,
                "document_number": fields["document_number"],
                "issue_date": as_date(fields["issue_date"]),
                "amount": fields.get(headline) if headline else None,
                "currency": "CNY",
                "image": image,
                "tampered": kind is not None,
                "tamper_kind": kind,
                "reused_from": plan["voucher_id"].iat[source[i]] if kind == "reused" else None,
                "tampered_fields": edited,
                "revenue_scale": scale,
                "bad_input": bad,
                "layout": style.layout,
                "date_format": style.date_format,
                "amount_format": style.amount_format,
                "ocr_error_fields": misread_names,
                "fields": fields_json(fields),
                "source": "simulated",
                "path": f"landing/vouchers/dt={submitted.isoformat()}/{p.voucher_id}.pdf",
            }
        )
        if len(rows) == TRUTH_BATCH:
            batches.append(pa.RecordBatch.from_pylist(rows, schema=TRUTH_SCHEMA))
            rows = []
    batches.append(pa.RecordBatch.from_pylist(rows, schema=TRUTH_SCHEMA))
    return pa.Table.from_batches(batches, schema=TRUTH_SCHEMA), counts

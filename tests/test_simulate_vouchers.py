"""Simulated vouchers: PDFs a reader can open and read, honest truth, designed tampering, bad input, determinism."""

from __future__ import annotations

import datetime as dt
import json
import logging
import pathlib
import re

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from jobs.documents.verify import Revenue, broken_rules
from simulator.vouchers import BAD_KINDS, write_vouchers
from simulator.vouchers.taxonomy import load_taxonomy

START = dt.date(2025, 1, 1)
SEGMENTS = ["online_merchant", "offline_merchant", "farmer", "distributor", "store", "brand"]
logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # truncated files are meant to fail loudly only here


def make_entities(n: int, seed: int = 1) -> pd.DataFrame:
    """A population shaped like the world's: every segment, quality ~ N(0, 1), some without a business name."""
    rng = np.random.default_rng(seed)
    size = np.clip(rng.lognormal(np.log(2.8), 0.7, n), 0.5, 20.0)
    return pd.DataFrame(
        {
            "entity_id": [f"E{i + 1:06d}" for i in range(n)],
            "segment": np.array(SEGMENTS)[rng.choice(6, n, p=[0.25, 0.25, 0.2, 0.12, 0.13, 0.05])],
            "quality": rng.normal(size=n),
            "size": size,
            "monthly_revenue": size * 30 * 90 * rng.lognormal(0, 0.3, n),
            "registered_date": [START - dt.timedelta(days=int(d)) for d in rng.integers(60, 3000, n)],
            "owner_name": [f"Li Na{i}" for i in range(n)],
            "business_name": [None if i % 3 else f"Li's Shop {i}" for i in range(n)],
            "city": rng.choice(["Shanghai", "Chengdu", "Wuhan"], n),
        }
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("vouchers")
    entities = make_entities(260)
    truth, counts = write_vouchers(entities, START, 365, 0.06, np.random.default_rng(5), out)
    return out, entities, truth.to_pandas(), counts


def read_pdf(path: pathlib.Path) -> tuple[str, str | None]:
    """(kind, text) as a reader finds it: kind is ok, encrypted_pdf or corrupt_pdf."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            return "encrypted_pdf", None
        return "ok", reader.pages[0].extract_text()
    except Exception:  # noqa: BLE001 - any failure to read is what a corrupt file means
        return "corrupt_pdf", None


def read_sidecar(path: pathlib.Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def numbers_in(text: str) -> set[float]:
    return {float(m.replace(",", "")) for m in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def test_every_voucher_has_its_files_and_sidecars_parse(world):
    out, _, truth, _ = world
    folder = out / "landing" / "vouchers"
    pdfs = sorted(folder.glob("dt=*/*.pdf"))
    assert len(pdfs) == len(truth) > 500
    for row in truth.itertuples():
        pdf = out / row.path
        assert pdf.exists() and pdf.parent.name == f"dt={row.submitted_date.isoformat()}"
        meta = read_sidecar(pdf.with_suffix(".json"))
        if row.bad_input == "bad_sidecar":
            assert meta is None
            continue
        assert meta["voucher_id"] == row.voucher_id and meta["entity_id"] == row.entity_id
        assert meta["declared_type"] == row.voucher_type and meta["image"] == row.image
        assert meta["submitted_at"].startswith(row.submitted_date.isoformat()) and meta["submitted_at"].endswith(
            "+08:00"
        )
        assert (pdf.parent / f"{row.voucher_id}.ocr.json").exists() == row.image


def test_text_pdfs_carry_their_number_and_amount(world):
    out, _, truth, _ = world
    headline = {name: spec["headline"] for name, spec in load_taxonomy()["types"].items()}
    readable = truth[truth["bad_input"].isna() | (truth["bad_input"] == "bad_sidecar")]
    assert readable["layout"].nunique() == 3 and readable["date_format"].nunique() >= 5
    for row in readable.itertuples():
        kind, text = read_pdf(out / row.path)
        assert kind == "ok", row.voucher_id
        if row.image:
            assert text.strip() == ""  # a photo has no text layer: its content comes through the OCR sidecar
            continue
        fields = json.loads(row.fields)
        assert fields["document_number"] in text, row.voucher_id
        if headline[row.voucher_type] in fields:
            assert fields[headline[row.voucher_type]] in numbers_in(text), (row.voucher_id, text)


def test_photos_come_with_an_upstream_reading_misread_only_at_low_confidence(world):
    out, _, truth, _ = world
    images = truth[truth["image"]]
    assert len(images) > 0.15 * len(truth)
    misread = 0
    for row in images.itertuples():
        reading = json.loads((out / row.path).with_name(f"{row.voucher_id}.ocr.json").read_text())
        (page,) = reading["pages"]
        words = page["words"]
        assert all(0 <= w["box"][0] < w["box"][2] <= page["width"] and w["box"][1] < w["box"][3] for w in words)
        printed = " ".join(w["text"] for w in words)
        low = " ".join(w["text"] for w in words if w["confidence"] < 0.8)
        number = json.loads(row.fields)["document_number"]
        assert (number in printed) == ("document_number" not in row.ocr_error_fields), row.voucher_id
        if len(row.ocr_error_fields):
            assert low, row.voucher_id  # a misread piece is read at low confidence
        misread += len(row.ocr_error_fields)
    assert misread > 0


def test_every_type_the_population_can_hand_over_appears(world):
    _, entities, truth, _ = world
    present = set(entities["segment"])
    can = {name for name, spec in load_taxonomy()["types"].items() if present & set(spec["segments"])}
    assert len(load_taxonomy()["types"]) >= 12
    assert set(truth["voucher_type"]) == can
    brands = set(entities.loc[entities["segment"] == "brand", "entity_id"])
    assert brands and not brands & set(truth["entity_id"])


def test_tampered_documents_break_their_rule_and_clean_ones_hold(world):
    _, entities, truth, _ = world
    ent = entities.set_index("entity_id")
    family = {
        "amount_edited": ("sum:", "balance:"),
        "date_moved": ("order:", "not_after_submission:", "covers_submission:", "matches_entity:", "duration:"),
        "out_of_line": ("in_line:",),
        "reused": ("unique_across_entities:",),
    }
    assert set(truth["tamper_kind"].dropna()) == set(family)
    for row in truth.itertuples():
        e = ent.loc[row.entity_id]
        revenue = Revenue(max(e["monthly_revenue"], 1000.0))
        broken = broken_rules(
            row.voucher_type, json.loads(row.fields), row.submitted_date, revenue, e["registered_date"]
        )
        assert row.tampered == (row.tamper_kind is not None)
        edited = list(row.tampered_fields)
        if not row.tampered:  # the product's rules hold on every clean document the simulator draws
            assert broken == [] and edited == [] and row.revenue_scale == 1.0, row.voucher_id
        elif row.tamper_kind != "reused":
            assert any(b.startswith(family[row.tamper_kind]) for b in broken), (row.voucher_id, row.tamper_kind)
            assert (edited != []) == (row.tamper_kind in ("amount_edited", "date_moved")), row.voucher_id
            assert (row.revenue_scale != 1.0) == (row.tamper_kind == "out_of_line"), row.voucher_id
    invoices = truth[truth["voucher_type"].str.endswith("invoice") & (truth["tamper_kind"] == "amount_edited")]
    for f in map(json.loads, invoices["fields"]):
        assert round(f["amount_untaxed"] + f["amount_tax"], 2) != f["amount_total"]
    worse = truth.merge(entities[["entity_id", "quality"]], on="entity_id").groupby("tampered")["quality"].mean()
    assert worse[True] < worse[False]


def test_reused_documents_appear_under_two_entities(world):
    _, _, truth, _ = world
    copies = truth[truth["tamper_kind"] == "reused"]
    assert len(copies) > 0
    by_id = truth.set_index("voucher_id")
    for row in copies.itertuples():
        original = by_id.loc[row.reused_from]
        assert original["entity_id"] != row.entity_id and original["voucher_type"] == row.voucher_type
        assert original["document_number"] == row.document_number
        assert original["submitted_date"] <= row.submitted_date
        same = truth[truth["document_number"] == row.document_number]
        assert same["entity_id"].nunique() >= 2


def test_bad_input_counts_equal_what_a_reader_finds(world):
    out, _, truth, counts = world
    found = dict.fromkeys(BAD_KINDS, 0)
    for pdf in sorted((out / "landing" / "vouchers").glob("dt=*/*.pdf")):
        kind, _ = read_pdf(pdf)
        if kind != "ok":
            found[kind] += 1
        if read_sidecar(pdf.with_suffix(".json")) is None:
            found["bad_sidecar"] += 1
    assert found == counts
    assert all(v > 0 for v in counts.values())
    assert truth["bad_input"].value_counts().to_dict() == counts


def file_bytes(out: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_and_no_bad_input_at_rate_zero(tmp_path):
    entities = make_entities(40, seed=3)
    runs = [write_vouchers(entities, START, 120, 0.0, np.random.default_rng(9), tmp_path / k) for k in "ab"]
    assert runs[0][0].equals(runs[1][0])
    assert runs[0][1] == dict.fromkeys(BAD_KINDS, 0)
    a, b = file_bytes(tmp_path / "a"), file_bytes(tmp_path / "b")
    assert a == b and len(a) > 50
    for name in a:
        path = tmp_path / "a" / name
        if name.endswith(".pdf"):
            assert read_pdf(path)[0] == "ok"
            assert read_sidecar(path.with_suffix(".json")) is not None
    other = write_vouchers(entities, START, 120, 0.0, np.random.default_rng(10), tmp_path / "c")[0]
    assert not other.equals(runs[0][0])
    assert file_bytes(tmp_path / "c") != a


def test_bad_arguments_are_refused(tmp_path):
    entities = make_entities(5)
    with pytest.raises(ValueError, match="bad_rate"):
        write_vouchers(entities, START, 10, 1.0, np.random.default_rng(0), tmp_path)
    with pytest.raises(ValueError, match="monthly_revenue"):
        write_vouchers(entities.drop(columns="monthly_revenue"), START, 10, 0.0, np.random.default_rng(0), tmp_path)


def test_names_built_when_absent_and_timestamps_accepted(tmp_path):
    entities = make_entities(30, seed=4).drop(columns="business_name")
    entities["registered_date"] = pd.to_datetime(entities["registered_date"])
    truth = write_vouchers(entities, START, 90, 0.0, np.random.default_rng(2), tmp_path)[0].to_pandas()
    owners = entities.set_index("entity_id")
    statements = truth[truth["voucher_type"] == "bank_statement"]
    assert len(statements) > 0
    for entity_id, fields in zip(statements["entity_id"], statements["fields"]):
        name, e = json.loads(fields)["recipient"], owners.loc[entity_id]
        assert name.startswith(f"{e['city']} {e['owner_name'].split()[0]} ")


def test_drawn_documents_print_their_truth_as_text_and_as_a_photo(tmp_path):
    import io

    from PIL import Image

    from jobs.documents import layout
    from jobs.documents.pages import pdf_text_pages
    from simulator.vouchers.documents import draw_document, photo, text_pdf

    rng = np.random.default_rng(4)
    languages = set()
    for i in range(24):
        drawn = draw_document(rng, dt.date(2025, 3, 4))
        languages.add(drawn.language)
        truth = drawn.truth
        assert truth["total"] == truth["net"] + truth["tax"] and truth["issue_date"] == dt.date(2025, 3, 4)
        path = tmp_path / f"{i}.pdf"
        path.write_bytes(text_pdf(drawn, rng))
        text = "\n".join(line.text for line in layout.lines(pdf_text_pages(path)))
        assert truth["issuer"] in text and truth["document_number"] in text
        assert "due_date" not in truth or truth["due_date"] > truth["issue_date"]
        assert f"{truth['total']:.2f}"[-2:] in text  # the cents, whatever the grouping and decimal marks
        image = Image.open(io.BytesIO(photo(drawn, rng)))
        assert image.format == "JPEG" and min(image.size) > 300
    assert len(languages) >= 5


def test_a_chains_till_receipt_is_headed_by_its_brand_in_the_largest_type():
    from simulator.vouchers.documents import draw_document

    rng = np.random.default_rng(9)
    drawn = [draw_document(rng, dt.date(2025, 3, 4)) for _ in range(80)]
    branded = [d for d in drawn if d.kind == "receipt" and d.language != "zh" and " " not in d.truth["issuer"]]
    assert 5 <= len(branded) < len([d for d in drawn if d.kind == "receipt" and d.language != "zh"])
    for d in branded:
        heading = max(d.pieces, key=lambda p: p.size)
        assert heading.text == d.truth["issuer"] and heading.y < 20

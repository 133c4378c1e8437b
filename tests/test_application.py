"""An application's documents: landed for the night as the landing contract says, refused with a reason when they
are no document the landing takes; and the reuse rule the night applies, for one business's new documents."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time

import pandas as pd
import pypdf
import pytest
from PIL import Image

from jobs.documents.verify import SUSPICIOUS, VERIFIED
from jobs.errors import FileProblem
from jobs.ingest.vouchers import read_voucher
from jobs.serve.application import Document, land, one_at_a_time, reused

NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def files(tmp_path):
    """A scanned PDF (one blank page), a photo, and broken files, outside the landing zone."""
    out = tmp_path / "upload"
    out.mkdir()
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with (out / "lease.pdf").open("wb") as f:
        writer.write(f)
    Image.new("RGB", (64, 48), "white").save(out / "bill.jpg")
    (out / "cut.pdf").write_bytes((out / "lease.pdf").read_bytes()[:200])
    (out / "fake.jpg").write_bytes(b"not a picture")
    (out / "notes.txt").write_text("hello")
    return out


def landed_files(settings) -> list[str]:
    return sorted(p.name for p in (settings.landing_dir / "vouchers").rglob("*") if p.is_file())


@pytest.fixture
def app_settings(settings, tmp_path):
    return dataclasses.replace(settings, landing_dir=tmp_path / "landing")


def test_a_document_lands_once_as_the_night_reads_it(app_settings, files):
    row = land(app_settings, "E1", Document(files / "lease.pdf", "shop_lease"), NOON)
    again = land(app_settings, "E1", Document(files / "lease.pdf", "shop_lease"), NOON)
    assert again == row and row["voucher_id"].startswith("APP-E1-") and len(row["voucher_id"]) == len("APP-E1-") + 16
    assert row["submitted_date"] == row["arrived_date"] == dt.date(2026, 3, 2)
    assert landed_files(app_settings) == sorted([f"{row['voucher_id']}.pdf", f"{row['voucher_id']}.json"])
    next_day = land(app_settings, "E1", Document(files / "lease.pdf", "shop_lease"), NOON + dt.timedelta(days=1))
    assert next_day == row and len(landed_files(app_settings)) == 2  # sent again another day: the same voucher
    other = land(app_settings, "E2", Document(files / "lease.pdf", "shop_lease"), NOON)
    assert other["voucher_id"] != row["voucher_id"]  # the same file from another business is another voucher

    folder = app_settings.landing_dir / "vouchers" / "dt=2026-03-02"
    (bronze,) = read_voucher({"folder": str(folder), "unit": row["voucher_id"], "main_checksum": None})
    sidecar = json.loads(bronze["sidecar"])
    assert sidecar | {"submitted_at": None} == {
        "voucher_id": row["voucher_id"], "entity_id": "E1", "declared_type": "shop_lease", "submitted_at": None,
        "file_name": f"{row['voucher_id']}.pdf", "image": True, "ocr_file": None,
    }  # fmt: skip
    assert sidecar["submitted_at"] == "2026-03-02T12:00:00+08:00" and bronze["pdf_checksum"] == row["pdf_checksum"]
    photo = land(app_settings, "E1", Document(files / "bill.jpg", "utility_bill"), NOON)
    assert photo["image"] and photo["pdf_path"].endswith(".jpg")


@pytest.mark.parametrize(
    ("name", "declared", "reason"),
    [
        ("cut.pdf", "shop_lease", "corrupt PDF: cut.pdf is cut short"),
        ("fake.jpg", "utility_bill", "corrupt image: fake.jpg cannot be read"),
        ("notes.txt", "utility_bill", "notes.txt: not a document the landing takes"),
        ("lease.pdf", "love_letter", "lease.pdf: 'love_letter' is not a type of the voucher taxonomy"),
    ],
)
def test_a_file_that_is_no_document_is_refused_with_its_reason_and_lands_nowhere(
    app_settings, files, name, declared, reason
):
    with pytest.raises(FileProblem, match=reason):
        land(app_settings, "E1", Document(files / name, declared), NOON)
    assert not (app_settings.landing_dir / "vouchers").exists() or landed_files(app_settings) == []


def test_a_file_over_the_size_limit_is_refused(app_settings, files):
    small = dataclasses.replace(app_settings, application_max_file_bytes=100)
    with pytest.raises(FileProblem, match="lease.pdf: larger than APPLICATION_MAX_FILE_MB"):
        land(small, "E1", Document(files / "lease.pdf", "shop_lease"), NOON)


def test_a_document_another_business_handed_over_first_is_suspicious():
    d = dt.date.fromisoformat
    held = pd.DataFrame(
        [("V1", "E2", d("2026-02-01"), "lease|L-9"), ("V2", "E1", d("2026-02-01"), "bill|B-1"),
         ("V3", "E3", d("2026-03-02"), "bill|B-7")],
        columns=["voucher_id", "entity_id", "submitted_date", "reuse_key"],
    )  # fmt: skip

    def new(vid: str, key: str, status: str = VERIFIED, reasons=()) -> dict:
        return {"voucher_id": vid, "entity_id": "E1", "submitted_date": d("2026-03-02"), "reuse_key": key,
                "status": status, "reasons": list(reasons)}  # fmt: skip

    got = reused(
        [
            new("APP-E1-a", "lease|L-9", SUSPICIOUS, ["amount out of line"]),  # E2 had it first
            new("APP-E1-b", "bill|B-1"),  # its own, handed over again
            new("APP-E1-c", "bill|B-7"),  # E3's the same day: the voucher ids decide, as at night
            new("APP-E1-d", None),  # nothing to compare
        ],
        held,
    )
    assert [(r["status"], r["reasons"]) for r in got] == [
        (SUSPICIOUS, ["reused: same document as V1 of another entity", "amount out of line"]),
        (VERIFIED, []),
        (VERIFIED, []),  # "APP-E1-c" sorts before "V3": E1 is first
        (VERIFIED, []),
    ]


def test_applications_of_one_business_wait_for_each_other_and_others_do_not(app_settings):
    """The second application of E1 waits for the first; E2's goes on meanwhile."""
    held, release, events = threading.Event(), threading.Event(), []

    def first():
        with one_at_a_time(app_settings, "E1"):
            held.set()
            release.wait(10)
            events.append("E1 first done")

    def second(entity: str):
        held.wait(10)
        with one_at_a_time(app_settings, entity):
            events.append(f"{entity} in")

    threads = [threading.Thread(target=first), threading.Thread(target=second, args=("E1",))]
    for t in threads:
        t.start()
    other = threading.Thread(target=second, args=("E2",))
    other.start()
    other.join(10)
    time.sleep(0.3)  # time enough for a lock that does not hold to let E1's second in
    assert events == ["E2 in"]
    release.set()
    for t in threads:
        t.join(10)
    assert events == ["E2 in", "E1 first done", "E1 in"]


def test_an_application_cut_short_while_landing_lands_each_file_once_when_retried(app_settings, files, monkeypatch):
    import os

    from jobs.serve import application

    real_replace, calls = os.replace, []

    def dies_on_the_sidecar(src, dst):
        calls.append(dst)
        if str(dst).endswith(".json"):
            raise KeyboardInterrupt("the process stops here")  # as a kill between the two files
        real_replace(src, dst)

    monkeypatch.setattr(application.os, "replace", dies_on_the_sidecar)
    with pytest.raises(KeyboardInterrupt):
        land(app_settings, "E1", Document(files / "lease.pdf", "shop_lease"), NOON)
    assert [p.rsplit(".", 1)[-1] for p in map(str, calls)] == ["pdf", "json"]  # the fault did happen, mid-landing
    monkeypatch.setattr(application.os, "replace", real_replace)
    row = land(app_settings, "E1", Document(files / "lease.pdf", "shop_lease"), NOON)
    assert landed_files(app_settings) == sorted([f"{row['voucher_id']}.pdf", f"{row['voucher_id']}.json"])
    folder = app_settings.landing_dir / "vouchers" / "dt=2026-03-02"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no part left behind

"""The document reader's parts on small inline inputs: values as printed, upstream OCR readings, lines, candidates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from jobs.documents import layout, values
from jobs.documents.candidates import document_candidates, party_name
from jobs.documents.pages import Page, Word, upstream_pages
from jobs.documents.read import read_lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Datum: 24-MAR-2018", {dt.date(2018, 3, 24)}),
        ("Rechnung vom 7. Mai 2014", {dt.date(2014, 5, 7)}),
        ("Invoice Date: August 3 , 2014", {dt.date(2014, 8, 3)}),
        ("开票日期：2025年3月1日", {dt.date(2025, 3, 1)}),
        ("Date 2025-03-01", {dt.date(2025, 3, 1)}),
        ("le 19 avril 2014", {dt.date(2014, 4, 19)}),
        ("02.03.20 09:48", {dt.date(2020, 3, 2), dt.date(2020, 2, 3)}),  # both readings: the ranker chooses
        ("25/12/2024", {dt.date(2024, 12, 25)}),  # no month 25: one reading
        ("30.04.2009:58", {dt.date(2009, 4, 30), dt.date(2020, 4, 30)}),  # an OCR glued the date to its time
        ("18.05.202016:07", {dt.date(2020, 5, 18)}),
        ("Datum-08.10.16", {dt.date(2016, 10, 8), dt.date(2016, 8, 10)}),
    ],
)
def test_dates_in_any_language_and_format(text, expected):
    assert {f.value for f in values.dates(text)} == expected


def test_a_date_is_not_read_out_of_an_identifier():
    assert values.dates("Invoice SP3-01-147902") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TOTAL QTY: 9 | 327.00", {(Decimal("9"), None), (Decimal("327.00"), None)}),  # never 9327.00
        ("Total EUR24.23", {(Decimal("24.23"), "EUR")}),
        ("SUMME 1.234,56 €", {(Decimal("1234.56"), "EUR")}),
        ("$4.11", {(Decimal("4.11"), "USD")}),
        ("¥1,234.50", {(Decimal("1234.50"), "CNY")}),
        ("MwSt 19,00% 4,78", {(Decimal("4.78"), None)}),  # a rate is no amount
        ("Gutschrift -8,79", {(Decimal("-8.79"), None)}),
        ("VAT Reg DE123456789", set()),  # an identifier is no amount
        ("RM12.50", {(Decimal("12.50"), "MYR")}),
        ("Brot 1,99 E", {(Decimal("1.99"), None)}),  # a single letter is a tax class, not a currency's sign
        ("12,00 kr", {(Decimal("12.00"), "NOK")}),
        ("Tel 48702489 Nr 1290000230300000048000", set()),  # long digit runs are numbers of something, not money
        (
            "12.03.2024 10:15:07 Kasse 2",
            {(Decimal("12.03"), None), (Decimal("2024"), None), (Decimal("2"), None)},
        ),  # a time is no amount
    ],
)
def test_amounts_with_their_currency(text, expected):
    assert {(f.value, f.currency) for f in values.amounts(text)} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("€/Stk €/Ges $ B", ["EUR", "EUR", "USD"]), ("ROLLER Bar EUR", ["EUR"]), ("Summe SUR 1,00 DEM", [])],
)
def test_currencies_named_by_a_sign_or_a_code_in_use(text, expected):
    assert values.currencies(text) == expected


def test_a_space_grouped_amount_is_read_both_ways():
    found = {(f.value, f.form) for f in values.amounts("1 234,56 EUR")}
    assert (Decimal("1234.56"), "spaced") in found and (Decimal("234.56"), "decimal") in found


TEXTRACT = [
    {"BlockType": "PAGE", "Id": "p", "Relationships": [{"Type": "CHILD", "Ids": ["a", "b", "c"]}]},
    {"BlockType": "LINE", "Id": "a", "Text": "SUMME", "Confidence": 99.0,
     "Geometry": {"BoundingBox": {"Left": 0.1, "Top": 0.50, "Width": 0.2, "Height": 0.02}}},
    {"BlockType": "LINE", "Id": "b", "Text": "24,23", "Confidence": 97.0,
     "Geometry": {"BoundingBox": {"Left": 0.7, "Top": 0.505, "Width": 0.1, "Height": 0.02}}},
    {"BlockType": "LINE", "Id": "c", "Text": "Musterladen GmbH", "Confidence": 90.0,
     "Geometry": {"BoundingBox": {"Left": 0.3, "Top": 0.05, "Width": 0.4, "Height": 0.03}}},
]  # fmt: skip


def test_an_upstream_textract_reading_becomes_lines_in_reading_order():
    pages = upstream_pages(TEXTRACT)
    assert len(pages) == 1 and pages[0].source == "upstream"
    assert [line.text for line in layout.lines(pages)] == ["Musterladen GmbH", "SUMME 24,23"]
    generic = {"pages": [{"width": 100, "height": 200, "words": [{"text": "Total", "box": [1, 2, 3, 4]}]}]}
    assert upstream_pages(generic)[0].words == (Word("Total", (1.0, 2.0, 3.0, 4.0), 1.0),)


def test_candidates_know_their_place_and_their_rank():
    words = (
        Word("Musterladen GmbH", (30, 10, 120, 22)),
        Word("Total", (10, 100, 40, 110)),
        Word("24,23", (150, 100, 180, 110)),
        Word("Cash", (10, 120, 40, 130)),
        Word("50,00", (150, 120, 180, 130)),
    )
    found = document_candidates(layout.lines([Page(200, 300, words, "text_layer")]))
    by_value = {c.value: c for c in found["amount"]}
    assert by_value[Decimal("50.00")].dense["is_max"] == 1 and by_value[Decimal("24.23")].dense["is_max"] == 0
    assert by_value[Decimal("24.23")].dense["at_line_end"] == 1.0
    assert found["party"][0].value == "Musterladen GmbH" and found["party"][0].dense["legal_form"] == 1.0


def test_amounts_know_how_they_add_up_with_the_others():
    rows = [("Filiale", "17"), ("Brot", "1,50"), ("Milch", "2,00"), ("SUMME", "3,50"), ("Netto", "2,94"),
            ("MwSt", "0,56"), ("Bar", "5,00"), ("Rückgeld", "1,50")]  # fmt: skip
    words = tuple(
        w for i, (label, amount) in enumerate(rows)
        for w in (Word(label, (10, 10 + 12 * i, 40, 20 + 12 * i)), Word(amount, (150, 10 + 12 * i, 180, 20 + 12 * i)))
    )  # fmt: skip
    found = document_candidates(layout.lines([Page(200, 300, words, "text_layer")]))
    total = next(c for c in found["amount"] if c.text == "3,50")
    assert total.dense["sum_of_lines_above"] == 1.0  # 1,50 + 2,00, the lines just above it
    assert total.dense["sum_of_two"] == 1.0  # 2,94 + 0,56
    assert total.dense["difference_of_two"] == 1.0  # 5,00 - 1,50
    assert next(c for c in found["amount"] if c.text == "5,00").dense["sum_of_lines_above"] == 0.0
    net, tax = (next(c for c in found["amount"] if c.text == t) for t in ("2,94", "0,56"))
    assert net.dense["net_of_a_tax_like_part"] == 1.0 and net.dense["tax_like_part"] == 0.0
    assert tax.dense["tax_like_part"] == 1.0 and tax.dense["net_of_a_tax_like_part"] == 0.0
    assert total.dense["sum_with_a_tax_like_part"] == 1.0


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("DE89370400440532013000", "iban"),
        ("4000001123452", "gs1"),
        ("4111111111111111", "card"),
        ("DE136695976", "vat_number"),
    ],
)
def test_an_identifier_knows_which_standard_number_it_is(text, kind):
    page = Page(200, 100, (Word("Ref", (10, 10, 30, 20)), Word(text, (40, 10, 150, 20))), "text_layer")
    found = {c.text: c for c in document_candidates(layout.lines([page]))["identifier"]}
    assert {k for k in ("iban", "gs1", "card", "vat_number") if found[text].dense[k]} == {kind}


def test_a_line_s_blocks_part_at_a_wide_gap():
    line = layout.lines([Page(300, 100, (Word("Muster", (10, 10, 40, 20)), Word("GmbH", (43, 10, 60, 20)),
                                          Word("Hauptstr.", (200, 10, 240, 20))), "text_layer")])[0]  # fmt: skip
    assert [line.text[a:b] for a, b in line.blocks] == ["Muster GmbH", "Hauptstr."]
    assert {c.value for c in document_candidates([line])["party"]} >= {"Muster GmbH", "Hauptstr."}


def test_a_party_is_the_name_after_its_label():
    assert party_name("Name: Lieferant GmbH") == "Lieferant GmbH"
    assert party_name("Muster AG, Hauptstr. 1, 12345 Berlin") == "Muster AG"


def receipt_page(rows: list[tuple[str, str]]) -> Page:
    """A text-layer page of a receipt: each row a label at the left and, when given, an amount at the right."""
    words = []
    for i, (label, amount) in enumerate(rows):
        top = 10 + 14 * i
        words.append(Word(label, (10, top, 10 + 6 * len(label), top + 10)))
        if amount:
            words.append(Word(amount, (150, top, 180, top + 10)))
    return Page(200, 300, tuple(words), "text_layer")


def test_the_shipped_field_models_read_a_plain_receipt():
    rows = [("Bäckerei Schmidt GmbH", ""), ("Hauptstraße 5, 10115 Berlin", ""), ("12.03.2024 10:15", ""),
            ("Roggenbrot", "3,90"), ("Brezel 2 x 0,85", "1,70"), ("Kaffee", "1,80"), ("SUMME EUR", "7,40"),
            ("Bar", "10,00"), ("Rückgeld", "2,60"), ("MwSt 7% 0,48 Netto 6,92", "")]  # fmt: skip
    fields = read_lines(layout.lines([receipt_page(rows)]))
    assert fields["total"]["value"] == Decimal("7.40")
    assert fields["issue_date"]["value"] == dt.date(2024, 3, 12)
    assert fields["currency"]["value"] == "EUR"
    assert fields["issuer"]["value"] == "Bäckerei Schmidt GmbH"
    assert fields["total"]["evidence"]["line"] == "SUMME EUR 7,40"


def test_a_field_model_learns_more_from_the_documents_that_weigh_more():
    from jobs.documents import ranker
    from jobs.documents.candidates import Candidate

    def doc(first_is_right: bool):
        pair = [Candidate("amount", Decimal(v), v, 0, 0, 1, dense={"at_line_end": e}) for v, e in (("1", 1), ("2", 0))]
        return pair, [int(first_is_right), int(not first_is_right)]

    documents = [doc(True), doc(False)]
    for weights, expected in (([10.0, 1.0], "1"), ([1.0, 10.0], "2")):
        model = ranker.usable(ranker.fit("total", documents, weights))
        chosen, _ = ranker.choose({"amount": doc(True)[0]}, {"total": model})["total"]
        assert chosen.text == expected


def test_an_issuer_model_never_scores_a_name_higher_for_being_lower_on_the_page_or_smaller():
    import xgboost as xgb

    from jobs.documents import ranker
    from jobs.documents.candidates import Candidate

    def party(y, size):
        return Candidate("party", "Name", "Name", 0, 0, 4, dense={"y": y, "size": size})

    top, lower = party(0.1, 2.0), party(0.6, 1.0)
    documents = [([top, lower], [0, 1])] * 20  # the lower, smaller name is the right one: only a total may learn that
    for field, learns in (("issuer", False), ("total", True)):
        names, booster = ranker.usable(ranker.fit(field, documents))
        score = booster.predict(xgb.DMatrix(ranker.matrix([top, lower], names)))
        assert (score[1] > score[0]) == learns


def test_a_line_s_section_is_the_nearest_short_heading_above_it():
    from jobs.documents.candidates import section

    rows = ["Invoice 4711 of 2024", "Bill to:", "Acme Trading Ltd", "12 Main Street", "Total 12.00"]
    page = Page(200, 100, tuple(Word(t, (10, 10 + 12 * i, 100, 20 + 12 * i)) for i, t in enumerate(rows)), "text_layer")
    lines = layout.lines([page])
    assert [section(lines, i) for i in range(len(lines))] == ["", "", "Bill to:", "Bill to:", "Bill to:"]


def test_the_issuer_and_the_recipient_are_never_the_same_name():
    from jobs.documents import ranker
    from jobs.documents.candidates import Candidate

    parties = [Candidate("party", name, name, i, 0, len(name)) for i, name in enumerate(["Seller AG", "Buyer AG"])]
    found = {"party": parties}

    class Fixed:  # a booster scoring each candidate as given
        def __init__(self, scores):
            self.scores = np.array(scores)

        def predict(self, _):
            return self.scores

    models = {"issuer": ([], Fixed([0.6, 0.03])), "recipient": ([], Fixed([0.95, 0.9]))}
    chosen = ranker.choose(found, models)
    assert (chosen["issuer"][0].value, chosen["recipient"][0].value) == ("Seller AG", "Buyer AG")


def test_a_type_model_learns_a_type_from_its_words_and_one_form_stands_for_two_types():
    from jobs.documents.classify import classify, fit

    bills = [f"ELECTRICITY BILL\nAccount No. {i}\nUsage kWh {i * 7}\nAmount Due {i}.50" for i in range(20)]
    payrolls = [f"PAYROLL SUMMARY\nEmployees {i}\nGross Pay {i}00.00\nNet Pay {i}0.00" for i in range(20)]
    sales = [f"VAT INVOICE\nInvoice No. {i}\nSeller Wang Trading\nAmount {i}.00" for i in range(20)]
    types = ["utility_bill"] * 20 + ["payroll"] * 20 + ["sales_invoice"] * 20
    model = fit(bills + payrolls + sales, types)
    assert classify("Power bill\nUsage kWh 310\nAmount Due 88.20", model)[0] == "utility_bill"
    assert classify("PAYROLL SUMMARY\nGross Pay 9100.00", model)[0] == "payroll"
    assert classify("VAT INVOICE\nInvoice No. 77", model)[0] == "purchase_invoice"  # a sale's form is a purchase's


def test_a_type_name_is_read_in_any_case_accent_or_script_and_at_the_end_of_a_compound():
    from jobs.documents.classify import read_names

    assert read_names("Beispiel\nMietrechnung Nr. 93") == ([("purchase_invoice", 1)], "beispiel\n  nr. 93")
    assert read_names("Rechnungsnummer: 4711")[0] == []  # a label that starts with a name is not the name
    assert read_names("Lohnabrechnung März")[0] == [("payroll", 0)]  # the longest name wins, not `rechnung`
    assert read_names("RELEVÉ DE COMPTE")[0] == read_names("Releve de compte")[0] == [("bank_statement", 0)]
    assert read_names("增值税专用发票 No. 12")[0] == [("purchase_invoice", 0)]
    assert read_names("Credit note for invoice 12")[0] == [("credit_note", 0), ("purchase_invoice", 0)]


def test_every_title_the_taxonomy_prints_holds_a_name_of_its_form_and_each_name_is_one_forms():
    from jobs.documents.classify import fold, form_of, read_names
    from jobs.documents.taxonomy import load_taxonomy

    types = load_taxonomy()["types"]
    for vtype, spec in types.items():
        for title in spec["titles"]:
            assert form_of(vtype) in {form for form, _ in read_names(title)[0]}, (vtype, title)
    forms_of: dict = {}
    for vtype, spec in types.items():
        for name in spec.get("names", []):
            forms_of.setdefault(fold(name), set()).add(form_of(vtype))
    assert {name: f for name, f in forms_of.items() if len(f) > 1} == {}


def test_a_type_model_learnt_from_english_documents_reads_a_name_printed_in_another_language():
    from jobs.documents.classify import classify, fit

    bills = [f"ELECTRICITY BILL\nAccount No. {i}\nUsage kWh {i * 7}\nAmount Due {i}.50" for i in range(20)]
    payrolls = [f"PAYROLL SUMMARY\nEmployees {i}\nGross Pay {i}00.00\nNet Pay {i}0.00" for i in range(20)]
    sales = [f"VAT INVOICE\nInvoice No. {i}\nSeller Wang Trading\nAmount {i}.00" for i in range(20)]
    model = fit(bills + payrolls + sales, ["utility_bill"] * 20 + ["payroll"] * 20 + ["sales_invoice"] * 20)
    assert classify("FACTUUR\nKlantnummer 6669263\nTotaal 88,20", model)[0] == "purchase_invoice"
    assert classify("Stromrechnung\nVerbrauch 310 kWh\nBetrag 88,20", model)[0] == "utility_bill"
    assert classify("Bulletin de paie\nSalaire brut 2 100,00", model)[0] == "payroll"


def test_a_photo_on_its_head_or_side_is_read_as_upright():
    from PIL import Image, ImageDraw, ImageFont

    from jobs.documents import ocr

    photo = Image.new("L", (900, 420), 255)
    draw = ImageDraw.Draw(photo)
    for row, text in enumerate(["KASSENBON 0815", "SUMME 24,23 EUR", "Datum 02.03.2020"]):
        draw.text((40, 40 + 130 * row), text, fill=0, font=ImageFont.load_default(size=64))

    def read(image) -> list[str]:
        return [w.text for w in ocr.read_image(image).words]

    upright = read(photo)
    assert "SUMME 24,23 EUR" in upright and "Datum 02.03.2020" in upright
    assert read(photo.rotate(180, expand=True)) == upright
    assert read(photo.rotate(90, expand=True)) == read(photo.rotate(270, expand=True)) == upright

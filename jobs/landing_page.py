"""docs/bring-your-own-data.md, generated: the prose of `docs/templates/bring-your-own-data.md` around what the
landing contracts say (`python -m jobs.landing_page > docs/bring-your-own-data.md`; a test keeps the page equal).

Each source's section comes from its contract (`schemas/landing/<source>.yaml`: fields, key, personal data, file
rules, worked example) and from the gate of the silver table it feeds (`expectations/silver/*.json`: the allowed
values of its closed fields), so the page cannot say other than what the reader and the gate do.
"""

from __future__ import annotations

from pathlib import Path

from jobs.catalog import all_contracts, contract
from jobs.quality import EXPECTATIONS_DIR, suite_json

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docs" / "templates" / "bring-your-own-data.md"
MARKER = "<!-- contracts -->"


def allowed_values(source: str) -> dict[str, str]:
    """Column -> what the gate of the source's silver tables allows in it (a closed set, a pattern, a range)."""
    allowed = {}
    for c in all_contracts(("silver",)):
        converted = "original_amount" in c.column_names
        if c.module != f"jobs.ingest.{source}" or not (EXPECTATIONS_DIR / "silver" / f"{c.name}.json").exists():
            continue
        for e in suite_json(c.fqn)["expectations"]:
            kwargs, column = e["kwargs"], e["kwargs"].get("column")
            if e["type"] == "expect_column_values_to_be_in_set":
                allowed[column] = "one of " + ", ".join(f"`{v}`" for v in kwargs["value_set"])
            elif e["type"] == "expect_column_values_to_match_regex":
                allowed[column] = f"matches `{kwargs['regex']}`"
            elif e["type"] == "expect_column_values_to_be_between":
                low, high = kwargs.get("min_value"), kwargs.get("max_value")
                allowed[column] = f"from {low:g}" + (f" to {high:g}" if high is not None else "")
                if converted and column == "amount":
                    allowed[column] += ", once converted to the reporting currency"
    return allowed


def file_rules_section() -> list[str]:
    rules = contract("landing._csv").extra["file"]
    lines = ["## File rules of the CSV sources", "", contract("landing._csv").description, ""]
    lines += ["| rule | value | what it means |", "|---|---|---|"]
    lines += [f"| {name} | `{r['value']}` | {' '.join(r['rule'].split())} |" for name, r in rules.items()]
    return lines


def id_schemes_section() -> list[str]:
    from jobs.ingest.identity import SCHEMES_FILE, schemes

    lines = ["## Identification schemes", "", f"From `{SCHEMES_FILE.relative_to(ROOT).as_posix()}`:", ""]
    lines += ["| `owner_id_scheme` | country | what | pattern (upper case, no spaces or hyphens) | check |"]
    lines += ["|---|---|---|---|---|"]
    for code, s in schemes().items():
        lines.append(f"| `{code}` | {s['country'] or 'any'} | {s['name']} | `{s['pattern']}` | {s['check']} |")
    return [*lines, ""]


def source_section(c) -> list[str]:
    source = c.name
    lines = [f"### `{source}`", "", c.description, ""]
    lines.append(f"Format: {c.extra.get('format', '?')}. Key: {', '.join(f'`{k}`' for k in c.keys)}.")
    shared = contract("landing._csv").extra["file"] if "file" in c.extra else {}
    own = {k: v["value"] for k, v in c.extra.get("file", {}).items() if shared.get(k) != v}
    if own:
        lines.append("File rules of its own: " + "; ".join(f"{k} `{v}`" for k, v in own.items()) + ".")
    allowed = allowed_values(source)
    lines += ["", "| field | required | meaning | allowed |", "|---|---|---|---|"]
    for col in c.columns:
        meaning = col.description + ("; personal data, kept only as a keyed token" if col.pii else "")
        lines.append(f"| `{col.name}` | {'no' if col.nullable else 'yes'} | {meaning} | {allowed.get(col.name, '')} |")
    if example := c.extra.get("example"):
        header = c.extra["file"]["separator"]["value"].join(c.column_names)  # the source's own rule
        lines += ["", f"Example, `{source}/dt={example['day']}/{source}.csv`:", "", "```", header]
        lines += [*example["lines"], "```"]
    return [*lines, ""]


def page() -> str:
    before, after = TEMPLATE.read_text().split(MARKER)
    lines = [*file_rules_section(), "", *id_schemes_section(), "## The sources", ""]
    for c in all_contracts(("landing",)):
        lines += source_section(c)
    return before + "\n".join(lines) + after


if __name__ == "__main__":
    print(page(), end="")

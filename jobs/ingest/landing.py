"""Landing files: discovery, checksums, and the file ledger that makes bronze exactly-once per file."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from jobs.catalog import contract
from jobs.errors import LandingError

DT_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class LandingFile:
    source: str
    name: str  # relative to the landing root: <source>/dt=YYYY-MM-DD/<file>
    path: str  # absolute
    dt: dt.date
    checksum: str
    size_bytes: int
    modified_ns: int


@dataclass(frozen=True)
class CsvRules:
    """The file rules of a CSV landing source, as its contract states them (`file`, from `schemas/landing/_csv.yaml`
    unless the source sets one): what the reader reads with and judges a file by."""

    encoding: str
    separator: str
    quote: str
    header: tuple[str, ...]

    def header_of(self, first_line: str) -> list[str]:
        """The column names a first line holds, split by these rules."""
        fields = next(csv.reader([first_line.rstrip("\r")], delimiter=self.separator, quotechar=self.quote), [])
        return fields


def csv_rules(source: str) -> CsvRules:
    c = contract(f"landing.{source}")
    rules = {name: rule["value"] for name, rule in c.extra["file"].items()}
    if rules["header"] != "exact":
        raise LandingError(f"landing.{source}: the reader knows only the header rule 'exact', not {rules['header']!r}")
    return CsvRules(rules["encoding"], rules["separator"], rules["quote"], tuple(c.column_names))


def sha256(path: Path) -> str:
    """The file's SHA-256, read in blocks of 1 MiB."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def has_landed(landing_root: str | Path, source: str) -> bool:
    """Whether anything ever landed for `source` (its folder exists); a landing root that does not exist is an
    error."""
    root = Path(landing_root)
    if not root.is_dir():
        raise LandingError(f"landing folder {root} does not exist")
    return (root / source).is_dir()


def discover(
    landing_root: str | Path,
    source: str,
    known: dict[str, tuple[int, int, str]] | None = None,
    through: dt.date | None = None,
) -> list[LandingFile]:
    """Every file under `<landing_root>/<source>/dt=YYYY-MM-DD/`, in delivery order; with `through`, only the days up
    to it (the files that had arrived by then: what a backfill's run for that day loads).

    `known` maps a file name to the (size, modification time in ns, checksum) it was loaded with: a file that still has
    that size and time keeps that checksum unread, so a night costs the new files, not every file ever delivered."""
    known = known or {}
    root = Path(landing_root)
    if not has_landed(root, source):
        return []
    source_dir = root / source
    found = []
    for day_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
        match = DT_FOLDER.match(day_dir.name)
        if not match:
            raise LandingError(f"{day_dir} is not a dt=YYYY-MM-DD folder")
        try:
            day = dt.date.fromisoformat(match.group(1))
        except ValueError as e:
            raise LandingError(f"{day_dir}: {e}") from None
        if through is not None and day > through:
            continue
        for f in sorted(p for p in day_dir.iterdir() if p.is_file() and not p.name.startswith((".", "_"))):
            name, stat = f.relative_to(root).as_posix(), f.stat()
            size, modified, checksum = known.get(name, (None, None, None))
            if (size, modified) != (stat.st_size, stat.st_mtime_ns):
                checksum = sha256(f)
            found.append(LandingFile(source, name, str(f.resolve()), day, checksum, stat.st_size, stat.st_mtime_ns))
    return found


def too_large(size_bytes: int, max_bytes: int) -> str | None:
    """Why a file of `size_bytes` must not be read (over `LANDING_MAX_FILE_MB`), or None."""
    if size_bytes > max_bytes:
        return f"too large: {size_bytes:,} bytes, over the limit of {max_bytes:,} (LANDING_MAX_FILE_MB): not read"
    return None


def unreachable(f: LandingFile, landing_root: str | Path, max_bytes: int) -> str | None:
    """Why the file must not be read at all, whatever its format (one line), or None. A file over `max_bytes`
    (`LANDING_MAX_FILE_MB`) is not read: it was hashed once, for the ledger, and goes to quarantine whole."""
    if not Path(f.path).is_relative_to(Path(landing_root).resolve()):
        return "a link that leads outside the landing folder: not read"
    return too_large(f.size_bytes, max_bytes)


def problem(f: LandingFile, rules: CsvRules, landing_root: str | Path, max_bytes: int) -> str | None:
    """Why the whole CSV file cannot be read by its contract's `rules` (one line), or None. Row-level faults are not
    judged here: a malformed or truncated line goes to quarantine with the rest of the file loaded."""
    if reason := unreachable(f, landing_root, max_bytes):
        return reason
    if f.size_bytes == 0:
        return "empty file: not even a header line"
    decoder = codecs.getincrementaldecoder(rules.encoding)()
    first_line, offset = None, 0
    with open(f.path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as e:
                return f"not {rules.encoding}: undecodable byte at offset {offset + e.start}"
            if first_line is None:
                first_line = text.partition("\n")[0]
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return f"not {rules.encoding}: the file ends inside a character"
    if first_line.startswith("\ufeff"):
        return f"starts with a byte-order mark: the contract's encoding is {rules.encoding} without one"
    found = rules.header_of(first_line)
    if found != list(rules.header):
        sep = rules.separator
        return f"header is not the contract's: expected {sep.join(rules.header)}; found {sep.join(found)[:200]}"
    return None


def unloaded(files: list[LandingFile], ledger: set[tuple[str, str]]) -> list[tuple[LandingFile, str]]:
    """Files whose (name, checksum) the ledger has not seen, each with its status: `new`, or
    `redelivered_changed` when a file of that name was loaded before with other content."""
    loaded_names = {name for name, _ in ledger}
    return [
        (f, "redelivered_changed" if f.name in loaded_names else "new")
        for f in files
        if (f.name, f.checksum) not in ledger
    ]

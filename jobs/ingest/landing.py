"""Landing files: discovery, checksums, and the file ledger that makes bronze exactly-once per file."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

DT_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


class LandingError(ValueError):
    """The landing folder cannot be read as the contract says."""


@dataclass(frozen=True)
class LandingFile:
    source: str
    name: str  # relative to the landing root: <source>/dt=YYYY-MM-DD/<file>
    path: str  # absolute
    dt: dt.date
    checksum: str
    size_bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover(landing_root: str | Path, source: str) -> list[LandingFile]:
    """Every file under `<landing_root>/<source>/dt=YYYY-MM-DD/`, in delivery order."""
    root = Path(landing_root)
    if not root.is_dir():
        raise LandingError(f"landing folder {root} does not exist")
    source_dir = root / source
    if not source_dir.is_dir():
        return []
    found = []
    for day_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
        match = DT_FOLDER.match(day_dir.name)
        if not match:
            raise LandingError(f"{day_dir} is not a dt=YYYY-MM-DD folder")
        try:
            day = dt.date.fromisoformat(match.group(1))
        except ValueError as e:
            raise LandingError(f"{day_dir}: {e}") from None
        for f in sorted(p for p in day_dir.iterdir() if p.is_file() and not p.name.startswith((".", "_"))):
            found.append(
                LandingFile(source, f.relative_to(root).as_posix(), str(f.resolve()), day, _sha256(f), f.stat().st_size)
            )
    return found


def unloaded(files: list[LandingFile], ledger: set[tuple[str, str]]) -> list[tuple[LandingFile, str]]:
    """Files whose (name, checksum) the ledger has not seen, each with its status: `new`, or
    `redelivered_changed` when a file of that name was loaded before with other content."""
    loaded_names = {name for name, _ in ledger}
    return [
        (f, "redelivered_changed" if f.name in loaded_names else "new")
        for f in files
        if (f.name, f.checksum) not in ledger
    ]

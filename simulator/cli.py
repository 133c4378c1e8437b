"""The simulator's commands for the `helicopter` command line (registered through the `helicopter.commands` entry
point, so the product never imports the simulator): `simulate` writes a world, `demo` simulates one and runs the
product's nightly chain on it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from jobs.cli import announce, iso_date, positive_int, print_limit

# The demo's world is still the plain one: 500 days hold too few matured loans for the v2 world's noise.
DEMO = {"entities": 1000, "days": 500, "start": dt.date(2025, 5, 1), "seed": 42, "bad_rate": 0.002, "realism": "plain"}


def simulate_world(
    out: Path, entities: int, days: int, start: dt.date, seed: int, bad_rate: float, realism: str
) -> dict:
    from rich.progress import Progress

    from simulator.population import REALISMS
    from simulator.world import WorldSpec, simulate

    spec = WorldSpec(entities, days, start, seed, bad_rate, REALISMS[realism])
    with Progress(transient=True) as bar:
        task = bar.add_task("simulating days", total=days)
        return simulate(spec, out, progress=lambda i, n: bar.update(task, completed=i + 1))


def cmd_simulate(a) -> int:
    summary = simulate_world(Path(a.out), a.entities, a.days, a.start, a.seed, a.bad_rate, a.realism)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_demo(a) -> int:
    """Simulate a world, run the nightly chain on it as of its last day, print the summary and one lookup."""
    from jobs import pipeline, report
    from jobs.serve import store
    from jobs.settings import load_settings

    out = Path(a.out)
    world = simulate_world(out, a.entities, a.days, DEMO["start"], DEMO["seed"], DEMO["bad_rate"], DEMO["realism"])
    as_of = dt.date.fromisoformat(world["end"])
    segments = ", ".join(f"{n:,} {s.replace('_', ' ')}s" for s, n in world["segments"].items())
    print(
        f"simulated {world['entities']:,} entities ({segments}) over {world['days']} days into {out}/landing: "
        f"{world['transactions']:,} payments, {world['trade']:,} trade records, {world['parcels']:,} parcels, "
        f"{world['vouchers']:,} vouchers, {world['loans']:,} loans"
    )
    result = pipeline.nightly(str(out / "landing"), as_of, on_step=announce)
    print(report.render(report.summary(as_of), result))
    eng = store.engine(load_settings().serving_url)
    approved = store.first_entity(eng)
    print(f"\n$ helicopter lookup {approved} --json")
    print_limit(store.lookup(eng, approved), as_json=True)
    return 0


def add_simulate(command) -> None:
    s = command("simulate", cmd_simulate, "write a simulated world: landing files and, apart, its truth")
    s.add_argument("--out", required=True, help="output folder (landing/ and truth/ go under it)")
    s.add_argument("--entities", type=positive_int, required=True)
    s.add_argument("--days", type=positive_int, required=True)
    s.add_argument("--start", type=iso_date, required=True, help="first day, YYYY-MM-DD")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--bad-rate", type=float, default=0.0, help="share of deliberately broken rows and files")
    s.add_argument(
        "--realism",
        choices=("plain", "v2"),
        default="v2",
        help="v2 (default): noisy habits, a credit cycle, the lender's own selection, hidden payments; "
        "plain: every habit follows the latent quality itself",
    )


def add_demo(command) -> None:
    s = command("demo", cmd_demo, "simulate a world, run the nightly chain on it, print the summary and a lookup")
    s.add_argument("--out", default="demo-world", help="where the simulated world goes")
    s.add_argument("--entities", type=positive_int, default=DEMO["entities"])
    s.add_argument("--days", type=positive_int, default=DEMO["days"])

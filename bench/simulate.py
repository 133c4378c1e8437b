"""Generation throughput and peak memory of `helicopter simulate`, and the realism of the world it draws.

Each size runs in a fresh process (its peak RSS is the generator's alone). The world of 20,000 entities is also
measured for realism (`simulator.realism`): the figures the README states. The worlds are v2 unless `--realism plain`.
Results go to `bench/results/simulate.{json,md}`.
Run: `python -m bench.simulate [--sizes 1000,20000,100000] [--days 365] [--realism v2]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, machine_line, record
from simulator.population import REALISMS

START = dt.date(2025, 1, 1)
REALISM_ENTITIES = 20_000


def generate(entities: int, days: int, realism: str, out: Path) -> dict:
    """In this process: simulate, then report the time, the world's summary, files and bytes per source, peak RSS."""
    from simulator.world import WorldSpec, simulate

    start = time.perf_counter()
    summary = simulate(WorldSpec(entities, days, START, seed=7, bad_rate=0.002, realism=REALISMS[realism]), out)
    seconds = time.perf_counter() - start
    files = {
        source.name: {
            "files": sum(1 for p in source.rglob("*") if p.is_file()),
            "mb": round(sum(p.stat().st_size for p in source.rglob("*") if p.is_file()) / 2**20, 1),
        }
        for source in sorted((out / "landing").iterdir())
    }
    return {
        "entities": entities,
        "days": days,
        "seconds": round(seconds, 1),
        "summary": summary,
        "landing": files,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def measured(entities: int, days: int, realism: str, work: Path) -> dict:
    out = work / f"world-{entities}"
    one = ["--one", str(entities), "--days", str(days), "--realism", realism, "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.simulate", *one],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout)
    rows = result["summary"]["transactions"] + result["summary"]["trade"]
    result["csv_rows_per_second"] = round(rows / result["seconds"])
    if entities == REALISM_ENTITIES:
        from simulator.realism import measure

        result["realism"] = measure(out)
    shutil.rmtree(out)
    return result


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# Benchmark simulate",
        "",
        f"{machine_line(m)}. One run per size, each in a "
        f"fresh process; {result['days']} days from {START}, bad rate 0.002, realism {result['realism']} (seed 7). "
        f"Recorded {result['recorded']}.",
        "",
        "| entities | seconds | transactions + trade rows | rows/s | parcels | scenes | vouchers | landing GB | "
        "peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["sizes"]:
        s, landing = r["summary"], r["landing"]
        scenes = landing.get("tiles", {}).get("files", 0) // 2
        gb = sum(v["mb"] for v in landing.values()) / 1024
        lines.append(
            f"| {r['entities']:,} | {r['seconds']:,.0f} | {s['transactions'] + s['trade']:,} | "
            f"{r['csv_rows_per_second']:,} | {s['parcels']:,} | {scenes:,} | {s['vouchers']:,} | {gb:.1f} | "
            f"{r['peak_rss_mb']:,} |"
        )
    realism = next((r["realism"] for r in result["sizes"] if "realism" in r), None)
    if realism:
        crops = realism["closest_crops"]
        lines += [
            "",
            f"## Realism ({REALISM_ENTITIES:,} entities)",
            "",
            f"- loans {realism['loans']:,}; base default rate {realism['base_default_rate']:.2%}; AUC of the true PDs "
            f"on the drawn outcomes (the oracle) {realism['oracle_auc']:.3f}",
            f"- mean cloud share of the scenes {realism['cloud_share']:.1%}",
            f"- closest crop curves: {crops['pair'][0]} and {crops['pair'][1]}, mean NDVI gap "
            f"{crops['mean_ndvi_gap']:.3f} over the season (next closest pair {crops['next_closest_gap']:.3f})",
            f"- over-declared parcels {realism['over_declared_parcels']:.1%}; tampered vouchers "
            f"{realism['tampered_vouchers']:.1%} ({', '.join(f'{k} {v}' for k, v in realism['tamper_kinds'].items())})",
            *reading_lines(realism),
        ]
    return "\n".join(lines) + "\n"


def reading_lines(realism: dict) -> list[str]:
    """How hard the world is to read: the best habit of each family alone, the cycle, selection, hidden payments."""
    sel, best = realism["selection"], realism["best_habit_auc"]
    drawn, realised = (
        realism["credit_cycle"][k] for k in ("pd_by_quarter_relative", "default_rate_by_quarter_relative")
    )
    return [
        "- the best habit of each family alone (its AUC on the drawn outcomes; a feature estimating it tells at most "
        "about this): "
        + "; ".join(f"{family} `{f['best_habit']}` {f['best_auc']:.3f}" for family, f in sorted(best.items())),
        f"- credit cycle: the mean PD at disbursement by quarter runs from {drawn['min']:.2f} to {drawn['max']:.2f} of "
        f"its mean; the realised default rate by quarter from {realised['min']:.2f} to {realised['max']:.2f}",
        f"- the lender's own selection: {sel['applications']:,} applications, {sel['declined_share']:.1%} declined; "
        f"default rate {sel['default_rate_all_applicants']:.2%} over every applicant, "
        f"{sel['default_rate_granted']:.2%} on the granted loans; the oracle's AUC "
        f"{sel['oracle_auc_all_applicants']:.3f} over every applicant, {sel['oracle_auc_granted']:.3f} on the granted",
        f"- merchants whose payments never reach the lender: {realism['hidden_flow_share']:.1%}",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=f"1000,{REALISM_ENTITIES},100000", help="entity counts, comma-separated")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--realism", choices=sorted(REALISMS), default="v2")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(generate(a.one, a.days, a.realism, a.out)))
        return
    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-simulate-"))
    result = {
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "days": a.days,
        "realism": a.realism,
        "sizes": [measured(int(n), a.days, a.realism, work) for n in a.sizes.split(",")],
    }
    record("simulate", result, markdown(result))


if __name__ == "__main__":
    main()

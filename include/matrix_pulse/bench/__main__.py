"""Benchmark Matrix Pulse on one quarter at a given scale and print a table (also JSON).

Every step runs in its own process so its peak memory (RSS of the whole process tree,
sampled) and wall time are its own. Steps:

1. floor    the fastest plain reader per format on the same files (DuckDB read_csv /
            read_json into a table, records unnested; fastexcel into Arrow for xlsx), no normalisation
2. ingest   our ingest of the quarter (all but the last day), per format; then its GX checks
            (mp_ingest's check_quality: part of what a day or a quarter costs before dbt)
3. dbt      a bare `dbt build` of the project on that warehouse, with the DAG's flags (no unit tests)
4. dag      the same full build through the mp_transform DAG (Cosmos), after dropping what
            step 3 built (the models are incremental): a run triggered on the embedded Airflow's
            scheduler, timed from the trigger to the run's end (bench/scheduled.py), or with
            `--dag-runner dags-test` the whole `airflow dags test` process
5. daily    the last day landed on top: ingest + GX checks + the mp_transform DAG (incremental)
6. report   every audience's pack for the quarter, built but not sent

The generated landing is cached under $MP_HOME/bench/<scale>/generated between runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from matrix_pulse.bench.memory import PeakRss, tree_rss
from matrix_pulse.bench.scheduled import ScheduledAirflow
from matrix_pulse.settings import REPO_ROOT, get_settings, process_environment
from matrix_pulse.transform.cosmos_config import PRODUCTION_BUILD_FLAGS

# Issue 17's targets: each figure of the summary must stay at or under its limit.
TARGETS = {
    "ingest_ratio": 1.3,  # per format: our load vs the plain reader of the same files
    "transform_ratio": 1.15,  # mp_transform DAG vs bare `dbt build` of the same work
    "quarter_seconds": 300,  # ingest + GX checks + transform DAG + all packs
    "daily_seconds": 60,  # a new day's files -> published marts
    "rss_gb": 3.0,  # peak RSS of any step
    "pack_seconds": 3.0,  # one pack, the average over all the quarter's packs
}


@dataclass
class StepResult:
    step: str
    seconds: float
    peak_rss_mb: float
    rows: int | None = None
    detail: dict = field(default_factory=dict)


def run_step(name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> tuple[float, float, str]:
    """Run one step as a child process; return (seconds, peak RSS MB of its tree, stdout)."""
    import psutil

    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    started = time.perf_counter()
    with open(log_path, "w") as log:
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        ps = psutil.Process(child.pid)
        with PeakRss(lambda: tree_rss(ps)) as peak:
            out, _ = child.communicate()
    seconds = time.perf_counter() - started
    # stdout is piped (the caller parses its last line) and kept in the step's log as well,
    # after the stderr the child wrote there (append mode: past the child's own writes).
    with open(log_path, "a") as log:
        log.write(f"\n--- stdout of {name} ---\n{out}")
    if child.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise SystemExit(f"bench step {name} failed (exit {child.returncode}); log {log_path}:\n{tail}")
    return seconds, peak.bytes / 1e6, out


def _python(module_code: str) -> list[str]:
    return [sys.executable, "-c", module_code]


def prepare_landing(scale: str, start: dt.date, end: dt.date, seed: int, root: Path, env: dict) -> Path:
    """Generate (once) the quarter's exports; cached by scale, dates and seed."""
    generated = root / "generated"
    stamp = generated / "_bench_stamp.json"
    want = {"scale": scale, "start": str(start), "end": str(end), "seed": seed}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        print(f"[bench] reusing generated landing {generated}")
        return generated
    shutil.rmtree(generated, ignore_errors=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "matrix_pulse.simulator", "--scale", scale, "--start", str(start),
           "--end", str(end), "--seed", str(seed), "--out", str(generated)]  # fmt: skip
    subprocess.run(cmd, env=env, check=True)
    stamp.write_text(json.dumps(want))
    print(f"[bench] generated {scale} {start}..{end} in {time.perf_counter() - t0:.0f} s")
    return generated


def land(generated: Path, landing: Path, days: set[str] | None, exclude_days: set[str] | None) -> int:
    """Hard-link final deliveries into the run's landing (re-deliveries are not benchmarked)."""
    n = 0
    for src in generated.rglob("*"):
        if not src.is_file() or src.name.startswith("_") or "_redeliveries" in src.parts:
            continue
        stem = src.stem.rsplit("_", 1)[-1]
        if days is not None and stem not in days:
            continue
        if exclude_days and stem in exclude_days:
            continue
        dst = landing / src.relative_to(generated)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            os.link(src, dst)
            n += 1
    return n


FLOOR_CODE = r"""
import json, sys, tempfile, time
from pathlib import Path
import duckdb
landing = Path(sys.argv[1]); fmt = sys.argv[2]
scratch = tempfile.TemporaryDirectory(prefix="mp_floor_")  # removed at exit
from matrix_pulse.sources import SOURCES, landing_folder
con = duckdb.connect()
rows = 0; t0 = time.perf_counter()
folders = {landing_folder(s): s for s in SOURCES.values() if s.fmt == fmt}
for folder, src in folders.items():
    for path in sorted((landing / folder).glob(f"{folder}_*.{fmt}")):
        try:
            if fmt == "csv":
                if src.encoding == "gb18030":
                    # DuckDB has no GB18030 here: the plain floor decodes in Python, as any reader must
                    text = path.read_bytes().decode("gb18030")
                    tmp = Path(scratch.name) / path.name
                    tmp.write_text(text, encoding="utf-8")
                    target = tmp
                else:
                    target = path
                rows += con.execute(f"create or replace table t as select * from read_csv('{target}', all_varchar=true); select count(*) from t").fetchone()[0]
            elif fmt == "json":
                # The records themselves, as the ingest reads them: a document whose records
                # sit under keys (wechat_oa, wechat_channels) is read once, then each key's
                # array unnested into rows (reading once beats one read_json per key).
                # A list the ingest explodes (WeCom's remark_mobiles) is one row per element.
                keys = [(s.json_path, s.extra.get("explode")) for s in SOURCES.values()
                        if landing_folder(s) == folder and s.json_path]
                con.execute(f"create or replace table t as select * from read_json('{path}', maximum_object_size=1000000000)")
                if not keys:
                    rows += con.execute("select count(*) from t").fetchone()[0]
                for key, explode in keys:
                    if explode:
                        rows += con.execute(f"select coalesce(sum(len(r.{explode})), 0) from (select unnest({key}) as r from t)").fetchone()[0]
                    else:
                        rows += con.execute(f"create or replace table r as select unnest({key}, recursive := true) from t; select count(*) from r").fetchone()[0]
            else:
                # The reader the ingest uses, its fastest way: the sheet into Arrow, one text type.
                import fastexcel
                data = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string").to_arrow()
                rows += max(data.num_rows - src.header_row, 0)
        except Exception as exc:  # corrupt files are part of the quarter; the floor skips them
            print(f"floor skipped {path.name}: {exc}", file=sys.stderr)
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0}))
"""

INGEST_CODE = r"""
import json, sys
from matrix_pulse.settings import get_settings
from matrix_pulse.ingest import run_ingest
s = run_ingest(get_settings())
by = {}
for f in s.files:
    d = by.setdefault(f.fmt, {"rows": 0, "seconds": 0.0, "files": 0})
    d["rows"] += f.rows_read; d["seconds"] += f.seconds; d["files"] += 1
print(json.dumps(by))
"""

QUALITY_CODE = r"""
import json, sys
from matrix_pulse.settings import get_settings
from matrix_pulse.ingest.quality import run_quality
r = run_quality(get_settings(), run_id=sys.argv[1])
print(json.dumps({"files": r.files_checked, "critical": len(r.critical_failures), "warnings": len(r.warnings)}))
"""

REPORT_CODE = r"""
import json, sys
import duckdb
from matrix_pulse.settings import get_settings
from matrix_pulse.report.audiences import load_config
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter
from matrix_pulse.report.render import render_pack, workers
cfg = load_config(); q = Quarter.parse(sys.argv[1]); n = 0
# as the report DAG's build task does (one pack a task there, one process for all here)
with workers(), duckdb.connect(str(get_settings().published_path), read_only=True) as con:
    for a in cfg.audiences:
        render_pack(build_pack(con, q, a, cfg.gate, cfg.pack), issue=1); n += 1
print(json.dumps({"packs": n}))
"""


DBT_BUILT_SCHEMAS = ("staging", "intermediate", "marts", "reference")


def reset_dbt_build(warehouse: Path) -> None:
    """Drop every schema dbt builds (the raw and meta schemas the ingest wrote stay)."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        for schema in DBT_BUILT_SCHEMAS:
            con.execute(f"drop schema if exists {schema} cascade")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default=get_settings().bench_scale, choices=["demo", "national"])
    ap.add_argument("--start", default="2026-07-01")
    ap.add_argument("--end", default="2026-09-30")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(REPO_ROOT / "bench" / "results"))
    ap.add_argument(
        "--dag-runner",
        default="scheduler",
        choices=["scheduler", "dags-test"],
        help="run mp_transform under the embedded Airflow's scheduler (production's way, bench/scheduled.py) "
        "or with `airflow dags test` (one process, tasks one at a time; the bench's way before stop 48)",
    )
    args = ap.parse_args(argv)
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    quarter = f"{start.year}Q{(start.month - 1) // 3 + 1}"

    root = get_settings().home / "bench" / args.scale
    env = process_environment()
    generated = prepare_landing(args.scale, start, end, args.seed, root, env)

    run_home = root / "run"
    shutil.rmtree(run_home, ignore_errors=True)
    (run_home / "landing").mkdir(parents=True)
    env = {**env, "MP_HOME": str(run_home), "MP_STABLE_SECONDS": "0"}
    for var in ("MP_WAREHOUSE", "MP_PUBLISHED", "MP_LANDING_DIR"):
        env.pop(var, None)
    last_day = end.strftime("%Y%m%d")
    logs = run_home / "bench_logs"
    results: list[StepResult] = []

    landed = land(generated, run_home / "landing", None, {last_day})
    print(f"[bench] {args.scale}: {landed} files landed for {start}..{end - dt.timedelta(days=1)}")

    floor: dict[str, dict] = {}
    for fmt in ("csv", "json", "xlsx"):
        secs, rss, out = run_step(
            f"floor_{fmt}", _python(FLOOR_CODE) + [str(run_home / "landing"), fmt], env, logs
        )
        floor[fmt] = {**json.loads(out.strip().splitlines()[-1]), "wall": secs, "rss": rss}
        results.append(StepResult(f"floor {fmt}", secs, rss, floor[fmt]["rows"]))

    secs, rss, out = run_step("ingest", _python(INGEST_CODE), env, logs)
    ingest = json.loads(out.strip().splitlines()[-1])
    results.append(StepResult("ingest (all formats)", secs, rss, sum(v["rows"] for v in ingest.values()),
                              {"by_format": ingest}))  # fmt: skip
    secs, rss, out = run_step("quality", _python(QUALITY_CODE) + ["bench_quarter"], env, logs)
    results.append(
        StepResult("quality: GX checks", secs, rss, detail=json.loads(out.strip().splitlines()[-1]))
    )

    warehouse = (run_home / "warehouse" / "matrix_pulse.duckdb").resolve()
    dbt_env = {**env, **get_settings().dbt_env(), "MP_WAREHOUSE": str(warehouse)}
    # the same work as the DAG's build: its flags (PRODUCTION_BUILD_FLAGS) too
    dbt_cmd = ["dbt", "build", "--project-dir", str(REPO_ROOT / "dbt"), "--profiles-dir", str(REPO_ROOT / "dbt"),
               "--target-path", str(run_home / "dbt_bench_target"), "--quiet",
               *PRODUCTION_BUILD_FLAGS]  # fmt: skip
    secs_dbt, rss, _ = run_step("dbt_build_bare", dbt_cmd, dbt_env, logs)
    results.append(StepResult("transform: bare dbt build", secs_dbt, rss))

    # The dbt models are incremental: without this the DAG would find nothing new and measure
    # a no-op. Dropping what dbt built makes the DAG do the same full build as the bare run.
    reset_dbt_build(run_home / "warehouse" / "matrix_pulse.duckdb")
    day_after = (end + dt.timedelta(days=1)).isoformat()
    with contextlib.ExitStack() as stack:
        # Airflow starts after the quarter's ingest and the bare build, so its idle loops weigh on
        # neither; the day's ingest and GX checks run beside it, as a morning's do in production
        airflow = (
            stack.enter_context(ScheduledAirflow(run_home / "airflow_home", env, logs))
            if args.dag_runner == "scheduler"
            else None
        )

        def transform(name: str) -> tuple[float, float, dict]:
            if airflow is not None:
                return airflow.run("mp_transform")
            cmd = ["airflow", "dags", "test", "mp_transform", day_after]
            return (*run_step(name, cmd, env, logs)[:2], {})

        secs_dag, rss, detail = transform("dag_transform")
        results.append(StepResult("transform: mp_transform DAG", secs_dag, rss, detail=detail))

        land(generated, run_home / "landing", {last_day}, None)
        secs_i, rss_i, _ = run_step("daily_ingest", _python(INGEST_CODE), env, logs)
        secs_q, rss_q, _ = run_step("daily_quality", _python(QUALITY_CODE) + ["bench_day"], env, logs)
        secs_t, rss_t, _ = transform("daily_transform")
    results.append(StepResult("daily increment (ingest + GX + DAG)", secs_i + secs_q + secs_t,
                              max(rss_i, rss_q, rss_t),
                              detail={"ingest": secs_i, "quality": secs_q, "transform": secs_t}))  # fmt: skip

    secs, rss, out = run_step("report", _python(REPORT_CODE) + [quarter], env, logs)
    results.append(
        StepResult("report: build all packs", secs, rss, detail=json.loads(out.strip().splitlines()[-1]))
    )

    summary = summarise(results, floor, ingest, secs_dbt, secs_dag)
    targets = check_targets(summary)
    print_table(results, summary)
    print_targets(targets)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"scale": args.scale, "quarter": quarter, "machine": {"cpus": os.cpu_count()},
               "dag_runner": args.dag_runner,
               "when": dt.datetime.now().isoformat(timespec="seconds"),
               "steps": [asdict(r) for r in results], "summary": summary, "targets": targets}  # fmt: skip
    path = out_dir / f"bench_{args.scale}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    print(f"\n[bench] written {path}")


def summarise(results: list[StepResult], floor: dict, ingest: dict, secs_dbt: float, secs_dag: float) -> dict:
    ratios = {}
    for fmt, ours in ingest.items():
        base = floor.get(fmt, {}).get("seconds") or 0
        ratios[fmt] = {"ours_s": round(ours["seconds"], 2), "floor_s": round(base, 2),
                       "rows_per_s": round(ours["rows"] / ours["seconds"]) if ours["seconds"] else None,
                       "ratio": round(ours["seconds"] / base, 2) if base else None}  # fmt: skip
    by_step = {r.step: r for r in results}
    packs = by_step["report: build all packs"]
    quarter_total = (
        by_step["ingest (all formats)"].seconds
        + by_step["quality: GX checks"].seconds
        + secs_dag
        + by_step["report: build all packs"].seconds
    )
    return {
        "ingest": ratios,
        "transform_ratio": round(secs_dag / secs_dbt, 2) if secs_dbt else None,
        "quarter_total_seconds": round(quarter_total, 1),
        "daily_increment_seconds": round(by_step["daily increment (ingest + GX + DAG)"].seconds, 1),
        "peak_rss_mb": round(max(r.peak_rss_mb for r in results)),
        "pack_seconds": round(packs.seconds / packs.detail["packs"], 2)
        if packs.detail.get("packs")
        else None,
    }


def check_targets(summary: dict) -> dict[str, dict]:
    """Each figure beside its limit: ``{name: {value, limit, ok}}`` (a missing figure is not ok)."""
    figures = {
        f"ingest_ratio_{fmt}": (v["ratio"], TARGETS["ingest_ratio"]) for fmt, v in summary["ingest"].items()
    }
    figures |= {
        "transform_ratio": (summary["transform_ratio"], TARGETS["transform_ratio"]),
        "quarter_seconds": (summary["quarter_total_seconds"], TARGETS["quarter_seconds"]),
        "daily_seconds": (summary["daily_increment_seconds"], TARGETS["daily_seconds"]),
        "peak_rss_mb": (summary["peak_rss_mb"], TARGETS["rss_gb"] * 1000),
        "pack_seconds": (summary["pack_seconds"], TARGETS["pack_seconds"]),
    }
    return {
        name: {"value": value, "limit": limit, "ok": value is not None and value <= limit}
        for name, (value, limit) in figures.items()
    }


def print_targets(targets: dict[str, dict]) -> None:
    print(f"\n{'target':<22}{'value':>10}{'limit':>10}  result")
    for name, t in targets.items():
        print(f"{name:<22}{t['value'] if t['value'] is not None else '-':>10}{t['limit']:>10}  "
              f"{'PASS' if t['ok'] else 'MISS'}")  # fmt: skip
    met = sum(t["ok"] for t in targets.values())
    print(f"{met} of {len(targets)} targets met")


def print_table(results: list[StepResult], summary: dict) -> None:
    print(f"\n{'step':<34}{'seconds':>10}{'rows':>12}{'rows/s':>12}{'peak RSS MB':>13}")
    for r in results:
        rps = f"{r.rows / r.seconds:,.0f}" if r.rows and r.seconds else ""
        print(f"{r.step:<34}{r.seconds:>10.1f}{(r.rows or ''):>12}{rps:>12}{r.peak_rss_mb:>13.0f}")
    print("\ningest per format (load seconds, ours vs floor):")
    for fmt, v in summary["ingest"].items():
        print(f"  {fmt:<6} ours {v['ours_s']:>8} s  floor {v['floor_s']:>8} s  ratio {v['ratio']}  "
              f"(target <= {TARGETS['ingest_ratio']})  {v['rows_per_s']} rows/s")  # fmt: skip
    print(
        f"transform ratio DAG / bare dbt: {summary['transform_ratio']} (target <= {TARGETS['transform_ratio']})"
    )
    dag = next((r for r in results if r.step == "transform: mp_transform DAG"), None)
    if dag is not None and dag.detail and "cpu_s" in dag.detail:
        cpu = ", ".join(f"{comp} {secs}" for comp, secs in dag.detail["cpu_s"].items())
        print(
            f"  CPU-s of Airflow's components during that run (the scheduler's with the tasks and dbt): {cpu}"
        )
    print(f"quarter ingest + GX + transform + packs: {summary['quarter_total_seconds']} s "
          f"(target <= {TARGETS['quarter_seconds']})")  # fmt: skip
    print(f"daily increment: {summary['daily_increment_seconds']} s (target <= {TARGETS['daily_seconds']})")
    print(f"peak RSS: {summary['peak_rss_mb']} MB (target <= {TARGETS['rss_gb'] * 1000:.0f})")


if __name__ == "__main__":
    main()

"""Routing benchmark of the dispatch planner (issue 9, item 7): plain-text tables on stdout.

    .venv/bin/python bench/routing.py                  # everything: Solomon at 10 s and 60 s, 5 days at 10 s and 30 s
    .venv/bin/python bench/routing.py --processes 2    # two runs at a time (about half the wall time)
    .venv/bin/python bench/routing.py --quick          # smoke test: 3 Solomon instances at 2 s, 1 day at 2 s
    .venv/bin/python bench/routing.py --parts solomon --families R1 --solomon-budgets 10

(a) Solomon's 100-customer instances (C1, R1, RC1) with the fleet fixed to the best-known vehicle count:
the planner's `optimise` per instance; distance recomputed in double precision from the routes, the gap
to the best-known distance, the mean per family. A result that leaves a customer out (or breaks a rule in
double precision) is infeasible, not a gap.
(b) A seeded dispatch day (bench/routing_day.py): 30 technicians, 250 visits; the planner's `plan_day`.
(c) The same days and budgets for OR-Tools and VROOM used directly (bench/routing_peers.py), every answer
judged by the same yardstick: `timing.schedule` per route, travel from the distance matrix.

Nothing here asserts a time: the tables are measurements of this machine at the time of the run. Progress
goes to stderr; stdout holds only the tables. See bench/README.md.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import routing_day  # noqa: E402
import routing_peers  # noqa: E402
import routing_solomon  # noqa: E402

SOLOMON_DIR = "../shared/data/solomon"  # relative to the repository's root
SOLVERS = ("ours", "ortools", "vroom")
SOLVER_NAMES = {"ours": "ours", "ortools": "OR-Tools", "vroom": "VROOM"}
QUICK_INSTANCES = ("C101", "R101", "RC101")
# Targets of issue 9 for the Solomon mean gap, by budget in seconds.
SOLOMON_TARGETS = {10.0: 3.0, 60.0: 1.0}


def setup_django() -> None:
    """plan_day reads its settings (PLANNER_THREADS; PLANNER_TIME_LIMIT without a time limit): set
    up as the other harnesses do, so that a change there cannot break the benchmark."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


# ---- runs (each in a worker process when --processes > 1) ---------------------------------------------


def solomon_run(directory: str, name: str, vehicles: int, budget: float, seed: int, durations: str = "round") -> dict[str, Any]:
    from serviceopus.dispatch.planner.optimise import optimise

    solomon = routing_solomon.read_instance(Path(directory) / f"{name}.txt")
    instance = routing_solomon.to_instance(solomon, vehicles, durations=durations)
    began = time.perf_counter()
    result = optimise(instance, time_limit=budget, seed=seed)
    wall = time.perf_counter() - began
    routes = routing_solomon.customers_of(instance, result.routes)
    return {
        "name": name,
        "budget": budget,
        "served": sum(len(r) for r in routes),
        "customers": len(instance.jobs),
        "routes": len(routes),
        "distance": routing_solomon.exact_distance(solomon, routes),
        "problems": routing_solomon.exact_problems(solomon, routes),
        "wall": wall,
        "first": result.first_feasible_seconds,
    }


def day_run(seed: int, budget: float, solver: str, breaks: bool, technicians: int, visits: int, solver_seed: int) -> dict[str, Any]:
    from serviceopus.dispatch.planner.instance import from_problem
    from serviceopus.dispatch.planner.model import pre_check

    problem = routing_day.generate_day(seed, technicians=technicians, visits=visits, breaks=breaks)
    matrix = routing_day.day_matrix(problem)
    plannable, set_aside = pre_check(problem)
    instance = from_problem(problem, matrix, plannable)
    row: dict[str, Any] = {
        "seed": seed,
        "budget": budget,
        "solver": solver,
        "visits": len(problem.visits),
        "set_aside": len(set_aside),
        "first": None,
        "note": "",
    }
    if solver == "ours":
        routes, wall, first, note, stray = _ours(problem, matrix, instance, budget, solver_seed)
        row.update(first=first, note=note)
    else:
        run = routing_peers.PEERS[solver](instance, budget, solver_seed)
        routes, wall, stray = run.routes, run.wall_seconds, 0
        row["note"] = run.note
    judged = routing_peers.judge(instance, routes)
    row.update(served=judged.served, weight=judged.weight, km=judged.km(instance), violations=judged.violations + stray, wall=wall)
    return row


def _ours(problem, matrix, instance, budget: float, seed: int):
    """plan_day's plan as routes of the instance's job indices (the same instance plan_day builds), the
    wall time, when the first feasible plan was reported (from the call, the instance included), a note,
    and how many stops name a visit or technician the instance lacks (violations: never served)."""
    from serviceopus.dispatch.planner.optimise import InvalidPlan, plan_day

    began = time.perf_counter()
    first: list[float] = []

    def progress(report) -> None:
        if not first and report.served > 0:
            first.append(time.perf_counter() - began)

    try:
        outcome = plan_day(problem, matrix, time_limit=budget, seed=seed, on_progress=progress)
    except InvalidPlan as exc:
        empty = tuple(() for _ in instance.vehicles)
        return empty, time.perf_counter() - began, None, f"invalid plan: {exc}"[:80], 0
    wall = time.perf_counter() - began
    job_index = {job.id: j for j, job in enumerate(instance.jobs)}
    vehicle_index = {vehicle.id: v for v, vehicle in enumerate(instance.vehicles)}
    routes: list[list[int]] = [[] for _ in instance.vehicles]
    stray = 0
    for route in outcome.plan.routes:
        for stop in route.stops:
            if route.technician_id in vehicle_index and stop.visit_id in job_index:
                routes[vehicle_index[route.technician_id]].append(job_index[stop.visit_id])
            else:
                stray += 1
    note = f"{stray} stops outside the instance" if stray else ""
    if outcome.plan.window_violations:
        note = (note + "; " if note else "") + f"plan reports {outcome.plan.window_violations} window violations"
    return tuple(tuple(r) for r in routes), wall, (first[0] if first else None), note, stray


Task = tuple[str, Callable[..., dict[str, Any]], tuple]  # (label for the progress lines, function, arguments)


def run_all(tasks: Sequence[Task], processes: int) -> list[dict[str, Any]]:
    """Run every task, `processes` at a time, in the given order; results in the same order."""
    results: list[dict[str, Any]] = []

    def report(k: int, result: dict[str, Any]) -> None:
        print(f"[{k + 1}/{len(tasks)}] {tasks[k][0]}: {result['served']} served, {result['wall']:.1f} s", file=sys.stderr, flush=True)

    if processes <= 1:
        for k, (_, function, args) in enumerate(tasks):
            results.append(function(*args))
            report(k, results[-1])
        return results
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [pool.submit(function, *args) for _, function, args in tasks]
        for k, future in enumerate(futures):
            results.append(future.result())
            report(k, results[-1])
    return results


# ---- tables -------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, groups: Sequence[tuple[str, int]] = ()) -> str:
    """A fixed-width table: first column left-aligned, the others right-aligned; `groups` (title, column
    count) puts a title over consecutive columns after the first."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows if i < len(r)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)).rstrip()

    out = []
    if groups:
        parts, column = [" " * widths[0]], 1
        for title, span in groups:
            width = sum(widths[column : column + span]) + 2 * (span - 1)
            if not title.strip():
                parts.append(" " * width)
            else:
                parts.append(title.center(width, "-") if len(title) + 2 <= width else title.ljust(width))
            column += span
        out.append("  ".join(parts).rstrip())
    out.append(line(headers))
    out.append("  ".join("-" * w for w in widths))
    out += [line(r) for r in rows]
    return "\n".join(out)


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def budget_label(budget: float) -> str:
    return f"{budget:g} s"


def percent(value: float) -> str:
    """Signed, two decimals, without a "-0.00" for a gap that rounds to nothing."""
    return f"{value + 0.0:+.2f}" if round(value, 2) != 0 else "+0.00"


def solomon_tables(results: list[dict[str, Any]], best: dict[str, routing_solomon.BestKnown], budgets: Sequence[float], durations: str = "round") -> str:
    by = {(r["name"], r["budget"]): r for r in results}
    names = list(dict.fromkeys(r["name"] for r in results))
    notes: list[str] = []

    def gap(r: dict[str, Any]) -> float | None:
        return None if r["problems"] else routing_solomon.gap_percent(r["distance"], best[r["name"]].distance)

    rows = []
    for name in names:
        row: list[Any] = [name, best[name].vehicles, f"{best[name].distance:.2f}"]
        for budget in budgets:
            r = by[(name, budget)]
            g = gap(r)
            if g is None:
                row += [f"{r['distance']:.2f}" if r["served"] == r["customers"] else "-", "infeasible", f"{r['served']}/{r['customers']}", seconds(r["first"])]
                notes.append(f"{name} at {budget_label(budget)}: " + "; ".join(r["problems"][:3]))
            else:
                row += [f"{r['distance']:.2f}", percent(g), f"{r['served']}/{r['customers']}", seconds(r["first"])]
        rows.append(row)
    headers = ["instance", "BKS veh", "BKS dist"] + ["distance", "gap %", "served", "1st s"] * len(budgets)
    groups = [(" best known ", 2)] + [(f" {budget_label(b)} ", 4) for b in budgets]
    title = "(a) Solomon, fleet fixed to the best-known vehicle count: distance in double precision, gap to the best known"
    out = [title + ("; travel times ×100 rounded up" if durations == "ceil" else ""), ""]
    out.append(table(headers, rows, groups=groups))
    if notes:
        out += ["", "Infeasible:"] + [f"  {n}" for n in notes]
    fam_rows = []
    families = list(dict.fromkeys(routing_solomon.family_of(n) for n in names))
    for family in [*families, "all"]:
        members = [n for n in names if family == "all" or routing_solomon.family_of(n) == family]
        row = [family if family != "all" else "all (" + "+".join(families) + ")", len(members)]
        for budget in budgets:
            gaps = [g for n in members if (g := gap(by[(n, budget)])) is not None]
            row += [percent(statistics.fmean(gaps)) if gaps else "-", percent(max(gaps)) if gaps else "-", len(members) - len(gaps)]
        fam_rows.append(row)
    fam_headers = ["family", "instances"] + ["mean gap %", "worst %", "infeasible"] * len(budgets)
    out += ["", "Mean gap per family (feasible instances only; infeasible ones counted apart)", ""]
    out.append(table(fam_headers, fam_rows, groups=[("", 1)] + [(f" {budget_label(b)} ", 3) for b in budgets]))
    targets = [f"≤ {SOLOMON_TARGETS[b]:g} % at {budget_label(b)}" for b in budgets if b in SOLOMON_TARGETS]
    if targets:
        out.append(f"Targets (issue 9): mean gap {', '.join(targets)}, over C1, R1 and RC1, every instance feasible.")
    return "\n".join(out)


def day_tables(results: list[dict[str, Any]], budgets: Sequence[float], solvers: Sequence[str]) -> str:
    by = {(r["seed"], r["budget"], r["solver"]): r for r in results}
    seeds = list(dict.fromkeys(r["seed"] for r in results))
    out: list[str] = []
    if "ours" in solvers:
        rows = []
        for budget in budgets:
            ours = [by[(s, budget, "ours")] for s in seeds]
            for r in ours:
                rows.append(
                    [
                        r["seed"],
                        budget_label(budget),
                        r["visits"],
                        r["set_aside"],
                        r["served"],
                        f"{r['km']:.1f}",
                        r["violations"],
                        seconds(r["wall"]),
                        seconds(r["first"]),
                        r["note"],
                    ]
                )
            firsts = [r["first"] for r in ours if r["first"] is not None]
            rows.append(
                [
                    "mean",
                    budget_label(budget),
                    "",
                    "",
                    f"{statistics.fmean(r['served'] for r in ours):.1f}",
                    f"{statistics.fmean(r['km'] for r in ours):.1f}",
                    f"{statistics.fmean(r['violations'] for r in ours):.1f}",
                    seconds(statistics.fmean(r["wall"] for r in ours)),
                    seconds(max(firsts)) + " max" if firsts else "-",
                    "",
                ]
            )
        headers = ["seed", "budget", "visits", "set aside", "served", "km", "violations", "wall s", "1st plan s", "note"]
        out += ["(b) Seeded dispatch day: our planner (plan_day)", "", table(headers, rows), ""]
    for budget in budgets:
        rows = []
        verdicts = []
        for seed in seeds:
            row: list[Any] = [seed]
            for solver in solvers:
                r = by[(seed, budget, solver)]
                row += [r["served"], f"{r['km']:.1f}", r["violations"], seconds(r["wall"])]
            rows.append(row)
            if "ours" in solvers and len(solvers) > 1:
                verdicts.append(_verdict(seed, [by[(seed, budget, s)] for s in solvers]))
        mean: list[Any] = ["mean"]
        for solver in solvers:
            rs = [by[(s, budget, solver)] for s in seeds]
            mean += [f"{statistics.fmean(r['served'] for r in rs):.1f}", f"{statistics.fmean(r['km'] for r in rs):.1f}"]
            mean += [f"{statistics.fmean(r['violations'] for r in rs):.1f}", seconds(statistics.fmean(r["wall"] for r in rs))]
        rows.append(mean)
        headers = ["seed"] + ["served", "km", "viol.", "wall s"] * len(solvers)
        groups = [(f" {SOLVER_NAMES[s]} ", 4) for s in solvers]
        out += [f"(c) Side by side at {budget_label(budget)}: served visits, travel km, window/rule violations, wall time", ""]
        out.append(table(headers, rows, groups=groups))
        notes = [f"  seed {r['seed']} {SOLVER_NAMES[r['solver']]}: {r['note']}" for r in results if r["budget"] == budget and r["note"]]
        if notes:
            out += ["Notes:", *notes]
        if verdicts:
            out += ["", "ours ≥ best peer (served, then km):", *verdicts]
        out.append("")
    return "\n".join(out).rstrip()


def _verdict(seed: int, runs: Sequence[dict[str, Any]]) -> str:
    """Whether our plan is at least as good as the best peer's: more served, or as many and no more km;
    and with no violations."""
    ours, peers = runs[0], runs[1:]
    best = min(peers, key=lambda r: (-r["served"], r["km"]))
    good = ours["violations"] == 0 and (ours["served"], -round(ours["km"], 1)) >= (best["served"], -round(best["km"], 1))
    return (
        f"  seed {seed}: {'yes' if good else 'NO '}  ours {ours['served']} / {ours['km']:.1f} km"
        f" vs {SOLVER_NAMES[best['solver']]} {best['served']} / {best['km']:.1f} km" + (f" ({ours['violations']} violations)" if ours["violations"] else "")
    )


# ---- command line -------------------------------------------------------------------------------------


def numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def seed_list(text: str) -> list[int]:
    """ "1..5", "1-5" or "1,3,7"."""
    seeds: list[int] = []
    for part in text.replace("..", "-").split(","):
        if "-" in part.strip()[1:]:
            low, high = part.split("-", 1)
            seeds += range(int(low), int(high) + 1)
        elif part.strip():
            seeds.append(int(part))
    return seeds


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " See bench/README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--parts", default="solomon,day", help="what to run: solomon = (a); day = (b) and (c)")
    parser.add_argument("--quick", action="store_true", help=f"smoke test: Solomon {', '.join(QUICK_INSTANCES)} at 2 s; seed 1 at 2 s (under a minute)")
    parser.add_argument("--processes", type=int, default=1, help="runs at a time, each in its own process (the machine's cores bound what helps)")
    parser.add_argument("--seed", type=int, default=0, help="the solvers' seed (ours and PyVRP inside it; OR-Tools and VROOM are deterministic)")
    solomon = parser.add_argument_group("(a) Solomon")
    solomon.add_argument("--solomon-dir", default=SOLOMON_DIR, help="instances and bks.csv; a relative path is taken from the repository's root")
    solomon.add_argument("--families", default=",".join(routing_solomon.FAMILIES), help="instance families to run")
    solomon.add_argument("--instances", default="", help="instance names (e.g. C101,R105); overrides --families")
    solomon.add_argument("--solomon-budgets", default="10,60", help="time limits in seconds, comma-separated")
    solomon.add_argument(
        "--solomon-durations",
        choices=("round", "ceil"),
        default="ceil",
        help="travel times ×100 rounded up (default: a route on time in whole numbers is then on time exactly) or rounded (as distances)",
    )
    day = parser.add_argument_group("(b)+(c) dispatch day")
    day.add_argument("--seeds", default="1-5", help="days to generate: 1-5, or 1,3,7")
    day.add_argument("--day-budgets", default="10,30", help="time limits in seconds, comma-separated")
    day.add_argument("--solvers", default=",".join(SOLVERS), help="ours (plan_day), ortools, vroom")
    day.add_argument("--technicians", type=int, default=30)
    day.add_argument("--visits", type=int, default=250)
    day.add_argument("--breaks", action="store_true", help="every technician takes a 30-minute break starting 11:30 or later, ending by 14:00")
    args = parser.parse_args(argv)
    if args.quick:
        args.instances, args.solomon_budgets, args.seeds, args.day_budgets = ",".join(QUICK_INSTANCES), "2", "1", "2"
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    args.solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    for value, allowed, option in ((args.parts, ("solomon", "day"), "--parts"), (args.solvers, SOLVERS, "--solvers")):
        if not value or set(value) - set(allowed):
            parser.error(f"{option}: choose from {', '.join(allowed)}")
    if args.solvers[0] != "ours" and "ours" in args.solvers:
        args.solvers = ["ours"] + [s for s in args.solvers if s != "ours"]
    args.solomon_budgets, args.day_budgets, args.seeds = numbers(args.solomon_budgets), numbers(args.day_budgets), seed_list(args.seeds)
    directory = Path(args.solomon_dir)
    args.solomon_dir = directory if directory.is_absolute() else (ROOT / directory).resolve()
    return args


def header(args: argparse.Namespace) -> str:
    from django.conf import settings

    versions = []
    for distribution in ("pyvroom", "ortools", "pyvrp"):
        try:
            versions.append(f"{distribution} {metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{distribution} (not installed)")
    return (
        f"bench/routing.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python {platform.python_version()}, "
        + ", ".join(versions)
        + f"; {args.processes} run(s) at a time"
        + f"\nthreads: ours {settings.PLANNER_THREADS} for its VROOM stages (PLANNER_THREADS) and 1 for PyVRP; the peers 1 (VROOM nb_threads=1, OR-Tools)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    setup_django()
    print(header(args))
    if "solomon" in args.parts:
        best = routing_solomon.read_best_known(args.solomon_dir / "bks.csv")
        if args.instances:
            names = [n.strip().upper() for n in args.instances.split(",") if n.strip()]
        else:
            families = {f.strip().upper() for f in args.families.split(",")}
            names = [n for n in routing_solomon.instance_names(args.solomon_dir) if routing_solomon.family_of(n) in families]
        unknown = [n for n in names if n not in best or not (args.solomon_dir / f"{n}.txt").exists()]
        if unknown:
            sys.exit(f"No instance file or best-known value for {', '.join(unknown)} in {args.solomon_dir}.")
        tasks: list[Task] = [
            (f"{n} at {budget_label(b)}", solomon_run, (str(args.solomon_dir), n, best[n].vehicles, b, args.seed, args.solomon_durations))
            for b in args.solomon_budgets
            for n in names
        ]
        print()
        print(solomon_tables(run_all(tasks, args.processes), best, args.solomon_budgets, args.solomon_durations), flush=True)
    if "day" in args.parts:
        day_args = (args.breaks, args.technicians, args.visits, args.seed)
        tasks = [
            (f"day {seed} {SOLVER_NAMES[solver]} at {budget_label(b)}", day_run, (seed, b, solver, *day_args))
            for b in args.day_budgets
            for seed in args.seeds
            for solver in args.solvers
        ]
        print()
        breaks = "a 30-min break 11:30–14:00" if args.breaks else "no breaks"
        print(
            f"Dispatch day: {args.technicians} technicians, {args.visits} visits, seeds {', '.join(map(str, args.seeds))}; {breaks}; "
            f"haversine × {routing_day.ROAD_FACTOR:g} at {routing_day.SPEED_KMH:g} km/h"
        )
        print()
        print(day_tables(run_all(tasks, args.processes), args.day_budgets, args.solvers), flush=True)


if __name__ == "__main__":
    main()

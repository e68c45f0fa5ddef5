"""The sessions users run. Each session installs stochflow into its own virtualenv.

``nox -s tests`` is the test command (CI runs exactly it through ``.ci/run``);
``nox -s loop`` is the main job.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = os.environ.get("STOCHFLOW_NOX_PYTHON", "3.11")
EXAMPLE = "examples/digits/network.toml"


def _install(session: nox.Session, *extras: str) -> None:
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The full test suite, slow synthesis and simulation tests included."""
    _install(session, "test")
    session.run("stochflow", "doctor")
    workers = os.environ.get("STOCHFLOW_TEST_WORKERS", "2")
    session.run("pytest", "-n", workers, "--dist", "loadfile", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the whole project."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Generate Verilog and design.json for the example network (build/digits/)."""
    _install(session)
    session.run("stochflow", "generate", *(session.posargs or [EXAMPLE]), "--out", "build/digits")


@nox.session(python=PYTHON)
def sim(session: nox.Session) -> None:
    """Simulate the example network on Verilator and prove it bit-exact with the golden model."""
    _install(session)
    session.run(
        "stochflow",
        "simulate",
        *(session.posargs or [EXAMPLE]),
        "--vectors",
        "64",
        "--out",
        "build/digits/sim",
    )


# The main job's budget (docs/loop.md, "The main job"): each limit changes the answer.
LOOP_BUDGET = "luts=4500,power_mw=4.5,latency_cycles=3000"


@nox.session(python=PYTHON)
def loop(session: nox.Session) -> None:
    """The main job: the closed loop on the digits example for ice40-up5k (build/loop/)."""
    _install(session)
    session.run("stochflow", "doctor")
    args = session.posargs or [
        EXAMPLE, "--target", "ice40-up5k", "--budget", LOOP_BUDGET, "--clock-mhz", "12",
        "--vectors", "32", "--max-builds", "8", "--out", "build/loop",
    ]
    session.run("stochflow", "loop", *args)


@nox.session(python=PYTHON)
def synth(session: nox.Session) -> None:
    """Generate and build the tiny example with Yosys + nextpnr (build/synth/), storing the
    observation in build/evidence.sqlite."""
    _install(session)
    spec = session.posargs[0] if session.posargs else "examples/tiny/network.toml"
    target = session.posargs[1] if len(session.posargs) > 1 else "ice40-up5k"
    session.run("stochflow", "generate", spec, "--out", "build/synth/design")
    session.run("stochflow", "synth", "--design", "build/synth/design/design.json",
                "--target", target, "--clock-mhz", "12", "--out", f"build/synth/{target}",
                "--store", "build/evidence.sqlite")


@nox.session(python=PYTHON)
def collect(session: nox.Session) -> None:
    """Ingest a build's reports into build/evidence.sqlite: `nox -s collect -- --design …
    --utilisation … [--power …] [--timing …] --accuracy-score … --out observation.json`."""
    if not session.posargs:
        session.error("give collect-synthesis's arguments after --, e.g. "
                      "nox -s collect -- --design D/design.json --utilisation U.rpt "
                      "--power P.rpt --timing T.rpt --accuracy-score 0.95 --out obs.json")
    _install(session)
    args = list(session.posargs)
    if "--store" not in args and "--no-store" not in args:
        args += ["--store", "build/evidence.sqlite"]
    session.run("stochflow", "collect-synthesis", *args)


@nox.session(python=PYTHON)
def optimise(session: nox.Session) -> None:
    """Rerun the selector for the digits example on the evidence so far (build/choice.json):
    the main job's build/loop/evidence.sqlite when `nox -s loop` ran, else
    build/evidence.sqlite (synth, sweep, collect). Other stores: pass the arguments."""
    _install(session)
    evidence = "build/loop/evidence.sqlite"
    if not os.path.exists(evidence):
        evidence = "build/evidence.sqlite"
    args = session.posargs or [
        EXAMPLE, "--target", "ice40-up5k", "--budget", LOOP_BUDGET, "--clock-mhz", "12",
        "--evidence", evidence, "--accuracy", "golden", "--out", "build/choice.json",
    ]
    session.run("stochflow", "optimise", *args, success_codes=[0, 1])


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmarks (numbers printed, nothing asserted): parsers, golden model, selector,
    open-flow build cost, RTL simulation, evidence store, energy accounting."""
    _install(session)
    for script in ("bench_parsers.py", "bench_golden.py", "bench_selector.py", "bench_synth.py",
                   "bench_rtl_sim.py", "evidence_store.py", "energy_accounting.py"):
        session.run("python", f"bench/{script}")

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

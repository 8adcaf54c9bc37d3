"""The lock files that `make run`, `make test` and CI install from (README, "Dependencies") must
cover pyproject.toml: a dependency added or tightened there without `make lock` would otherwise
only fail at the next fresh install (pip --require-hashes refuses a package the lock lacks), far
from the change that caused it. Pure parsing: no network, no uv."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK_RUN = ROOT / "requirements" / "run.txt"
LOCK_DEV = ROOT / "requirements" / "dev.txt"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)
# One requirement: its first line up to the next line that starts a new one (or a comment block).
_ENTRY = re.compile(r"^[A-Za-z0-9][^\n]*(?:\n[ \t]+--hash[^\n]*)*", re.MULTILINE)


def pins(lock: Path) -> dict[str, Version]:
    return {canonicalize_name(name): Version(version) for name, version in _PIN.findall(lock.read_text())}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def runtime_requirements() -> list[Requirement]:
    project = pyproject()
    return [Requirement(r) for r in project["project"]["dependencies"] + project["build-system"]["requires"]]


def dev_requirements() -> list[Requirement]:
    extras = pyproject()["project"]["optional-dependencies"]
    return runtime_requirements() + [Requirement(r) for group in ("dev", "load") for r in extras[group]]


def unmet(requirements: list[Requirement], locked: dict[str, Version]) -> list[str]:
    problems = []
    for requirement in requirements:
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} but the lock pins {version}")
    return problems


@pytest.mark.parametrize(("lock", "requirements"), [(LOCK_RUN, runtime_requirements), (LOCK_DEV, dev_requirements)],
                         ids=["run", "dev"])
def test_every_pyproject_requirement_is_locked_at_an_allowed_version(lock, requirements):
    problems = unmet(requirements(), pins(lock))
    assert not problems, f"{lock.name} is stale, run `make lock`: " + "; ".join(problems)


def test_run_lock_pins_the_versions_the_dev_lock_tested():
    run, dev = pins(LOCK_RUN), pins(LOCK_DEV)
    assert len(run) > 20
    differ = {name: (version, dev.get(name)) for name, version in run.items() if dev.get(name) != version}
    assert not differ, f"run lock differs from the dev lock (run `make lock`): {differ}"


@pytest.mark.parametrize("lock", [LOCK_RUN, LOCK_DEV], ids=["run", "dev"])
def test_every_pin_carries_hashes(lock):
    entries = _ENTRY.findall(lock.read_text())
    assert len(entries) == len(pins(lock))
    bare = [entry.split()[0] for entry in entries if "--hash=sha256:" not in entry]
    assert not bare, f"pins without hashes in {lock.name}: {bare}"


def test_the_guard_notices_a_dependency_added_without_make_lock():
    """The check above must be able to fail: a new package, and a tightened bound."""
    locked = pins(LOCK_RUN)
    fastapi = locked["fastapi"]
    problems = unmet([Requirement("surely-not-a-dependency-of-ours>=1.0"), Requirement(f"fastapi>{fastapi}")], locked)
    assert len(problems) == 2

"""The house reads top-down (README, "Architecture"): which folder of app/ may import which.

Floors, bottom first. A module may import its own folder and any folder on a lower floor; an
import of a higher floor is an "arrow back up". A few are tolerated (listed below, each with why),
none may be added: a new one fails here and says which file made it. Imports under
`if TYPE_CHECKING:` are left out: they never run, so they make no cycle (app/core/runtime.py
names the features' types that way).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# Bottom first. Within a floor of one folder the order is the features' own dependency order.
FLOORS: list[list[str]] = [
    ["config"],
    ["core"],
    ["web"],  # rendering, templates, static files: every page uses it
    ["accounts"],
    ["staff"],  # authorization and audit: features declare their permissions with it
    ["contests"],
    ["questions"],
    ["attempts"],
    ["leaderboard"],
    ["judging"],
    ["integrity"],
    ["outreach"],  # spreading a contest: previews, QR codes, invitation links, shared results
    ["exports"],
    ["dashboard"],
    ["admin"],  # the staff console's pages and routes: nothing below imports it
    ["jobs"],  # the job queue and worker: job functions call into the features (app/jobs/tasks.py)
    ["wiring", "main", "cli", "models", "__main__"],  # the composition root
]
FLOOR = {name: i for i, names in enumerate(FLOORS) for name in names}

# The arrows back up that remain, each a (from, to) folder pair, with the reason it is tolerated.
TOLERATED: dict[tuple[str, str], str] = {
    ("accounts", "staff"): "an organizer hands out password-reset codes, audited (accounts.recovery)",
    ("staff", "contests"): "a role is given in a contest (staff.accounts, staff.conflicts read Contest, Round)",
    ("staff", "attempts"): "a participant may not be made staff of a contest they sat (staff.conflicts)",
    ("contests", "attempts"): "editing a round caps open attempts' deadlines; the contest page shows progress",
    ("contests", "questions"): "a round's question quota is checked against the bank (contests.editing)",
    ("contests", "judging"): "a frozen round's rules cannot be edited (judging.frozen)",
    ("leaderboard", "integrity"): "excluded results stay off the boards (integrity.models)",
    ("leaderboard", "judging"): "after the freeze the final board comes from the snapshot (judging.frozen)",
}
MAX_ARROWS_BACK_UP = 8


def _folder(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "app" or len(parts) < 2:
        return None
    return parts[1]


def _imports(tree: ast.AST) -> list[str]:
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module == "app":
                    found.extend(f"app.{a.name}" for a in child.names)
                else:
                    found.append(child.module)
            elif isinstance(child, ast.Import):
                found.extend(a.name for a in child.names)
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[tuple[str, str], set[str]]:
    """(from folder, to folder) -> the files making that arrow."""
    arrows: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in APP.rglob("*.py"):
        rel = path.relative_to(APP)
        source = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            target = _folder(module)
            if target is not None and target != source:
                arrows[(source, target)].add(str(rel))
    return arrows


def arrows_back_up() -> dict[tuple[str, str], set[str]]:
    return {pair: files for pair, files in import_graph().items() if FLOOR[pair[1]] > FLOOR[pair[0]]}


def test_every_folder_of_app_has_a_floor():
    folders = {p.name for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in APP.glob("*.py") if p.stem != "__init__"}
    assert folders | modules <= set(FLOOR), f"give these a floor: {sorted((folders | modules) - set(FLOOR))}"


def test_no_new_arrow_back_up():
    back = arrows_back_up()
    new = {f"{a} -> {b}: {sorted(files)}" for (a, b), files in back.items() if (a, b) not in TOLERATED}
    assert not new, "imports running back up a floor (README, Architecture): " + "; ".join(sorted(new))
    assert len(back) <= MAX_ARROWS_BACK_UP


def test_core_imports_no_feature():
    below_features = {name for name, floor in FLOOR.items() if floor <= FLOOR["core"]}
    wrong = {f"{a} -> {b}: {sorted(f)}" for (a, b), f in import_graph().items()
             if a == "core" and b not in below_features}
    assert not wrong


def test_no_feature_imports_the_console():
    wrong = {f"{a}: {sorted(f)}" for (a, b), f in import_graph().items()
             if b == "admin" and FLOOR[a] < FLOOR["admin"]}
    assert not wrong


def test_the_check_sees_an_arrow_back_up(tmp_path):
    # The parser must not be blind: a core module importing a feature is seen.
    tree = ast.parse("from app.attempts.service import AttemptDeps\nif TYPE_CHECKING:\n    import app.admin.pages\n")
    assert _imports(tree) == ["app.attempts.service"]

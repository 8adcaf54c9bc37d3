"""Every console route declares in its signature what the caller must be allowed to do
(app/staff/deps.py: `staff_with(PERMISSION, scope)` behind an `Annotated` alias), where a reader
and this test see it, instead of a check buried in its body. A route that only needs "some staff
member" must be on the commented allow-list below."""
from __future__ import annotations

from app.main import create_app
from app.staff.deps import api_staff, page_staff
from tests.routes import walk_routes

# Routes that take any staff member on purpose, each with where the real check is.
ANY_STAFF: dict[tuple[str, str], str] = {
    ("GET", "/admin"): "the console's home lists only the contests the person is staff of",
    # An export's permission depends on its kind (results: judges; statistics: any staff of the
    # contest): the body checks export_kind(kind).permission in the round's contest.
    ("POST", "/admin/rounds/{round_id}/exports/{kind}"): "export_kind(kind).permission, in the body",
    ("POST", "/api/v1/admin/rounds/{round_id}/exports/{kind}"): "export_kind(kind).permission, in the body",
    # An export job belongs to whoever started it (admin.routes.owned_job), then the kind's permission.
    ("GET", "/admin/exports/{job_id}"): "owned_job",
    ("GET", "/admin/exports/{job_id}/file"): "owned_job",
    ("GET", "/api/v1/admin/exports/{job_id}"): "owned_job",
    ("GET", "/api/v1/admin/exports/{job_id}/file"): "owned_job",
    # Lifting an exclusion: its round is known only from the exclusion (integrity.exclusions.reinstate).
    ("POST", "/admin/exclusions/{exclusion_id}/reinstate"): "exclusions.reinstate: REVIEW_INTEGRITY",
    ("POST", "/api/v1/admin/exclusions/{exclusion_id}/reinstate"): "exclusions.reinstate: REVIEW_INTEGRITY",
}


def _calls(dependant) -> list:
    found = [dependant.call]
    for sub in dependant.dependencies:
        found += _calls(sub)
    return found


def console_routes():
    """(method, path, declared permissions) of every staff route and every /admin route."""
    for path, route in walk_routes(create_app().routes):
        if getattr(route, "dependant", None) is None:
            continue  # Starlette's own (/docs, static files): no dependencies, no staff
        calls = _calls(route.dependant)
        staff = api_staff in calls or page_staff in calls
        if staff or path.startswith(("/admin", "/api/v1/admin")):
            declared = sorted({c.permission for c in calls if getattr(c, "permission", None)})
            scopes = {c.scope for c in calls if getattr(c, "scope", None)}
            for method in sorted(route.methods):
                yield method, path, declared, scopes


def test_every_console_route_declares_its_permission():
    routes = list(console_routes())
    assert len(routes) >= 70  # the walk finds the consoles' pages and API (not an empty pass)
    undeclared = [(m, p) for m, p, declared, _ in routes if not declared and (m, p) not in ANY_STAFF]
    assert undeclared == [], "declare the permission: Annotated[StaffAccess, Depends(staff_with(...))]"
    # The allow-list holds only routes that exist and still take any staff.
    current = {(m, p): declared for m, p, declared, _ in routes}
    stale = [key for key in ANY_STAFF if key not in current or current[key]]
    assert stale == []


def test_a_permission_is_checked_where_the_path_names_it():
    """A contest permission on a path without {contest_id} (or a round's without {round_id})
    would read an unrelated query parameter instead: every declaration matches its path."""
    wrong = [(m, p, scope) for m, p, _, scopes in console_routes() for scope in scopes
             if scope in ("contest", "round") and f"{{{scope}_id}}" not in p]
    assert wrong == []


def test_the_declarations_say_what_the_roles_module_says():
    declared = {(m, p): d for m, p, d, _ in console_routes()}
    assert declared[("PUT", "/api/v1/admin/contests/{contest_id}")] == ["edit_contest"]
    assert declared[("POST", "/admin/rounds/{round_id}/close")] == ["close_round"]
    assert declared[("POST", "/api/v1/contests/{contest_id}/bank/imports")] == ["edit_bank"]
    assert declared[("POST", "/api/v1/admin/contests")] == ["admin"]

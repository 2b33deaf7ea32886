"""docs/roles.md is the role matrix the code enforces: every permission is a row, and
each ✓ / – is what ROLE_PERMISSIONS grants."""

from __future__ import annotations

import re
from pathlib import Path

from siyu.identity.rules import ROLE_PERMISSIONS, Permission, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
COLUMNS = (Role.owner, Role.operator, Role.analyst, Role.support)


def doc_matrix() -> dict[str, tuple[bool, ...]]:
    rows: dict[str, tuple[bool, ...]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([a-z_.]+)` \|[^|]*\|(.*)\|$", line)
        if match:
            marks = [cell.strip() for cell in match.group(2).split("|")]
            assert all(mark in ("✓", "–") for mark in marks), line
            rows[match.group(1)] = tuple(mark == "✓" for mark in marks)
    return rows


def test_the_roles_doc_lists_every_permission_once_as_granted() -> None:
    rows = doc_matrix()
    assert set(rows) == {p.value for p in Permission}
    for permission in Permission:
        granted = tuple(permission in ROLE_PERMISSIONS[role] for role in COLUMNS)
        assert rows[permission.value] == granted, permission


def test_analysts_read_but_do_not_write() -> None:
    analyst = ROLE_PERMISSIONS[Role.analyst]
    assert Permission.analytics_read in analyst
    assert not any(p.value.endswith((".write", ".decide", ".manage")) for p in analyst)

"""Who sees a user's email: the user themself and admins; nobody else, anonymous viewers
included."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, or_

# The fields whose value depends on who asks beyond "admin or not": an answer that reads one is
# shared (cached, or computed once for many subscribers) only among requests of the same viewer.
VIEWER_DEPENDENT_FIELDS = frozenset({("User", "email")})


class Viewer(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def is_admin(self) -> bool: ...


def sees_every_email(viewer: Viewer | None) -> bool:
    """Whether the viewer sees the email of every user (what an answer may be shared on)."""
    return viewer is not None and viewer.is_admin


def sees_email(viewer: Viewer | None, owner_id: int) -> bool:
    """The rule in Python: the viewer sees the email of the user `owner_id`."""
    return viewer is not None and (viewer.id == owner_id or viewer.is_admin)


def sees_email_sql(
    viewer_id: ColumnElement[int],
    viewer_is_admin: ColumnElement[bool],
    owner_id: ColumnElement[int],
) -> ColumnElement[bool]:
    """The rule in SQL, over the signed-in viewer's columns (the compiled path's session check)."""
    return or_(owner_id == viewer_id, viewer_is_admin)

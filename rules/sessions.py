"""When a token's session is valid: the token's version is the user's current one (no
logout-all since it was issued), this session was not logged out, and the user is active.

One SQL predicate, used by the general path's session check (db/sessions.py) and by the
compiled path's viewer CTE (fastpath/): a token that fails it names no session.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists

from db.models import RevokedToken, User


def session_is_valid(
    user_id: ColumnElement[int], token_version: ColumnElement[int], session_id: ColumnElement[str]
) -> ColumnElement[bool]:
    """True for the user `user_id` while the session `session_id`, issued at `token_version`,
    is valid (the arguments are bound parameters or columns)."""
    return and_(
        User.id == user_id,
        User.token_version == token_version,
        User.is_active,
        ~exists().where(RevokedToken.jti == session_id),
    )

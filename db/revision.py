"""Where a database stands against the migrations of this checkout: start-up refuses one that is
behind them, systemStatus reports the head.

Alembic, with Mako and Pygments under it, weighs a sixth of `import main`: it is imported when
first asked, so importing the app does not pay for it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent


@cache
def _scripts() -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))


def migration_head() -> str | None:
    """The newest migration's revision."""
    return _scripts().get_current_head()


def behind(connection: Connection) -> str | None:
    """How the database is behind this checkout's migrations, or None if it is not: at the head,
    or at a revision this checkout does not know. That one is a newer release's, which migrates
    before it starts (expanding the schema, never breaking the release before): processes of
    the older release restarted meanwhile must still run."""
    from alembic.runtime.migration import MigrationContext

    current = set(MigrationContext.configure(connection).get_current_heads())
    head = migration_head()
    if not current:
        return "no migration has been applied to it"
    if head in current:
        return None
    known = {script.revision for script in _scripts().walk_revisions()}
    if not current <= known:
        return None
    return f"it is at revision {', '.join(sorted(current))}, this code needs {head}"

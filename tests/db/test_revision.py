"""db.revision.behind: start-up refuses a database behind the migrations, and only that."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from db.revision import behind, migration_head
from tests.utils.databases import alembic_config, migrate, sqlite_url

# A revision no release of this checkout has: a newer one's, applied before its processes start.
NEWER_REVISION = "ffffffffffff"


def behind_of(path: Path) -> str | None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return behind(connection)
    finally:
        engine.dispose()


def test_a_database_without_migrations_is_behind(tmp_path: Path) -> None:
    assert behind_of(tmp_path / "empty.db") == "no migration has been applied to it"


def test_a_database_at_the_head_is_not_behind(sqlite_template: Path) -> None:
    assert behind_of(sqlite_template) is None


def test_a_database_one_migration_behind_says_which_revisions(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    head = migration_head()
    assert head is not None
    scripts = ScriptDirectory.from_config(alembic_config(sqlite_url(path)))
    previous = scripts.get_revision(head).down_revision
    assert isinstance(previous, str)
    migrate(sqlite_url(path), previous)
    assert behind_of(path) == f"it is at revision {previous}, this code needs {head}"


def test_a_newer_release_s_revision_is_not_behind(tmp_path: Path) -> None:
    """Processes of the release before restart meanwhile: they must keep running."""
    path = tmp_path / "newer.db"
    migrate(sqlite_url(path))
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :v"), {"v": NEWER_REVISION}
        )
    engine.dispose()
    assert behind_of(path) is None

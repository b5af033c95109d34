"""The served schema honours the public contract and matches the exported schema.graphql."""

from __future__ import annotations

from graphql import build_schema, find_breaking_changes, print_schema

from settings import Settings
from tests.utils.databases import ROOT
from web.graphql_schema import create_schema

CONTRACT = (ROOT / "tests" / "contract.graphql").read_text()

schema = create_schema(Settings())


def test_served_schema_does_not_break_the_contract() -> None:
    contract = build_schema(CONTRACT)
    served = build_schema(schema.as_str())
    assert find_breaking_changes(contract, served) == []


def test_every_contract_type_exists_by_name() -> None:
    contract = build_schema(CONTRACT)
    served = build_schema(schema.as_str())
    missing = {
        name
        for name in contract.type_map
        if not name.startswith("__") and name not in served.type_map
    }
    assert missing == set()


def test_contract_check_catches_a_break() -> None:
    """The check above can fail: removing a field the contract names is reported."""
    contract = build_schema(CONTRACT)
    broken = build_schema(
        print_schema(contract).replace("  userId: Int!\n  user: User!", "  user: User!")
    )
    assert find_breaking_changes(contract, broken)


def test_exported_schema_is_up_to_date() -> None:
    exported = (ROOT / "schema.graphql").read_text()
    assert exported.strip() == schema.as_str().strip(), (
        "run `make schema` and commit schema.graphql"
    )

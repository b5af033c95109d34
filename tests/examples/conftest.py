"""Node with the Apollo Client examples' packages installed, for the tests that run them."""

from __future__ import annotations

import shutil

import pytest

from tests.examples.apollo import EXAMPLES
from tests.utils.node import install_node_tool


@pytest.fixture(scope="module")
def node() -> str:
    install_node_tool(EXAMPLES, "@apollo/client", "the Apollo Client examples")
    path = shutil.which("node")
    assert path is not None
    return path

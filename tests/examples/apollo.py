"""Where the Apollo Client examples are, and how long one may run."""

from __future__ import annotations

from tests.utils.databases import ROOT

EXAMPLES = ROOT / "examples" / "apollo"
NODE_TIMEOUT = 90  # graphql-ws retries a refused socket for a while before giving up

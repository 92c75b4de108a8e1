"""``python -m stacks.config``: rewrite environments/schema/environment.schema.json from the pydantic models
(``--check`` only reports whether it is current; tests/config/test_schema.py fails when it is stale)."""

from __future__ import annotations

import sys

from .files import SCHEMA_FILE
from .loader import schema_text


def main(argv: list[str]) -> int:
    current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    wanted = schema_text()
    if "--check" in argv:
        if current != wanted:
            print(f"{SCHEMA_FILE.name} is stale: run python -m stacks.config", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        SCHEMA_FILE.write_text(wanted, encoding="utf-8")
        print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

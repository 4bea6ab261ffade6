"""``python -m echelon.examples``: generate the demo data if missing or stale and print where it is."""

from __future__ import annotations

import sys
from pathlib import Path

from . import ensure_demo_data


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    data = ensure_demo_data(Path(args[0]) if args else None)
    print(f"database:  {data.database}")
    print(f"documents: {data.documents}")
    print(f"output:    {data.output}")


if __name__ == "__main__":
    main()

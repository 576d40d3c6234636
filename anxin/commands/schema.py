"""`anxin schema`: export the JSON Schema of every device message."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gateway.contract import json_schemas


def register(sub: Any) -> None:
    """Add the `schema` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("schema", help="export the device contract as JSON Schema")
    parser.add_argument("--out", type=Path, default=None, help="folder for one file per channel (default: stdout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the schemas to a folder, or print them."""
    schemas = json_schemas()
    if args.out is None:
        print(json.dumps(schemas, indent=2, ensure_ascii=False, sort_keys=True))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for channel, schema in schemas.items():
        path = args.out / f"{channel}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    return 0

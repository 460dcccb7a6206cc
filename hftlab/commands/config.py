"""Validate configuration files: `hftlab config check FILE...`.

Each file is validated on its own, with the `HFTLAB__*` environment overrides applied, and every
invalid field is listed with its dotted path and the reason. Exit 0 when all are valid, else 2.
`hftlab config show [FILE...]` prints the effective configuration (secrets never appear in it).
"""

from __future__ import annotations

import sys


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    check = sub.add_parser("check", help="validate files; exit 2 listing every invalid field")
    check.add_argument("files", nargs="+", metavar="FILE")
    show = sub.add_parser("show", help="print the effective configuration as YAML")
    show.add_argument("files", nargs="*", metavar="FILE")


def run(args) -> int:
    from hftlab.config import check_files, load_config

    if args.action == "check":
        problems = check_files(args.files)
        if problems:
            print(f"invalid configuration ({len(problems)} problem{'s' * (len(problems) != 1)}):", file=sys.stderr)
            for src, path, reason in problems:
                print(f"  {src}: {path}: {reason}", file=sys.stderr)
            return 2
        for f in args.files:
            print(f"ok  {f}")
        return 0
    import yaml

    settings = load_config(args.files or None)
    print(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False), end="")
    return 0

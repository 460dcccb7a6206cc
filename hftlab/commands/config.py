"""Check or show the configuration: `hftlab config check FILE...` / `hftlab config show [--config FILE]`.

`check` validates each file on its own, as the overlay on config/default.yaml it is (with the
`HFTLAB__*` environment overrides applied), and lists every invalid field with its dotted path and
the reason; without FILEs it checks the files named by --config. Exit 0 when all are valid, else 2.
`show` prints the effective configuration the other commands would use for the same --config and
environment, cross-section defaults resolved (secrets never appear in it).
"""

from __future__ import annotations

import sys

from hftlab.commands.common import add_common, load_settings


def add_arguments(p) -> None:
    p.add_argument("action", choices=["check", "show"],
                   help="check: validate files (exit 2 listing every invalid field); show: print the effective "
                        "configuration as YAML")
    p.add_argument("files", nargs="*", metavar="FILE", help="check: the files to validate")
    add_common(p)


def run(args) -> int:
    if args.action == "show":
        if args.files:
            print("hftlab config show: name files with --config FILE (each an overlay on config/default.yaml)",
                  file=sys.stderr)
            return 2
        import yaml

        settings = load_settings(args)
        print(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False), end="")
        return 0
    from hftlab.settings import check_files

    files = args.files or args.config or []
    if not files:
        print("hftlab config check: name the files to check (hftlab config check FILE...)", file=sys.stderr)
        return 2
    problems = check_files(files)
    if problems:
        print(f"invalid configuration ({len(problems)} problem{'s' * (len(problems) != 1)}):", file=sys.stderr)
        for src, path, reason in problems:
            print(f"  {src}: {path}: {reason}", file=sys.stderr)
        return 2
    for f in files:
        print(f"ok  {f}")
    return 0

"""What every `hftlab` command shares: the --config / --log-level / --log-json options and loading
the settings they name (with logging set up to match)."""

from __future__ import annotations

import argparse


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", action="append", metavar="FILE",
                   help="YAML overlay on config/default.yaml (repeatable, later wins; default $HFTLAB_CONFIG)")
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="override system.log_level")
    p.add_argument("--log-json", action="store_true", help="log JSON lines instead of text")


def load_settings(args: argparse.Namespace, overrides: dict[str, str] | None = None):
    """Load config for a command and set up logging; raises ConfigError (exit 2 in main).
    `overrides`: `HFTLAB__SECTION__KEY` values a command's own options stand for (applied like the
    environment's, so cross-section defaults follow them)."""
    import os

    from hftlab.core.logs import setup_logging
    from hftlab.settings import load_config

    environ = {**os.environ, **overrides} if overrides else None
    settings = load_config(getattr(args, "config", None), environ=environ)
    setup_logging(
        getattr(args, "log_level", None) or settings.system.log_level,
        "json" if getattr(args, "log_json", False) else settings.system.log_format,
    )
    return settings

"""Subcommands of the `hftlab` CLI that belong to no single subsystem."""

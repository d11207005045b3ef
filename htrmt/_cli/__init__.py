"""Subcommands of the ``htrmt`` command (one module each, discovered automatically)."""

"""featgen: one YAML feature spec compiled to numpy, C99 and Swift, proven bit-identical."""

from codegen import __version__

__all__ = ["__version__"]

"""featgen's compiler: feature IR, lowering, and one emitter per target."""

__version__ = "0.1.0"

"""The spec's vocabulary: every signal and feature kind a spec can name, with its parameters and
its math, written once as expressions (``ir``) that every target prints.

It sits below the spec loader (which validates names and parameters against it) and below
``codegen`` (which lowers and prints it), and imports neither: the one-way order is
vocabulary -> spec -> codegen."""

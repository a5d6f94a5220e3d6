"""The benchmark runner: configs in, immutable records out, and the tools of the PR loop."""

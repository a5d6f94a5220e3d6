"""The PR loop: per-hardware DVC pipelines, changed models, new-model scaffold, PR summary."""

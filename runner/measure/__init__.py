"""One benchmark point and sweeps of them: generation, per-step timing, energy, statistics."""

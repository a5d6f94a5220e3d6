"""The machine a run uses: device choice, hardware identity, provenance and energy meters."""

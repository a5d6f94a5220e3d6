"""What the hardware can do: calibrated ceilings, derived metrics and the roofline."""

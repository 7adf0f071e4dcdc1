"""Training runs: label set (or label-like frame) in, evaluated and registered bot versions out."""

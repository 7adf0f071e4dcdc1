"""Honest evaluation: chronological splits with purge and embargo, and the metrics of a version."""

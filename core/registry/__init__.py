"""The model-version registry: versions and the one active version per bot (artifacts: core.artifacts)."""

"""The model-version registry: artifacts on disk, versions and the one active version per bot in the DB."""

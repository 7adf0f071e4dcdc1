"""Model artifact stores (ARTIFACT_URL): below the context, which opens one, and beside the database.

`base` holds what every store shares (keys, names, the SHA-256 check); `stores` the local and
fsspec stores and `open_store`, which picks one from the settings.
"""

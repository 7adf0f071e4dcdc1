"""Read models for the dashboard: small queries that compose the engine APIs into page-shaped data.

Nothing here imports Streamlit; every function takes a `Context` (or plain values) and returns
frames, dataclasses or dicts, so pages stay thin and the same queries are testable without a UI.
"""

"""Reusable page pieces: badges, empty states, the training progress widget, signal cards."""

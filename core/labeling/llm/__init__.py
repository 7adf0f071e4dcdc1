"""The LLM analyst: the provider registry and wire formats, the async client, retries, bounded
replies, the response cache, the ledger and the daily budget it enforces."""

"""The LLM analyst: the async client, retries, bounded replies, the response cache, the ledger and
the daily budget it enforces. Providers and their wire formats live in `core.llm_providers`."""

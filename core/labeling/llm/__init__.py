"""The LLM analyst: wire formats, the async client, retries, the response cache and the cost ledger."""

"""What a model costs per token: the built-in table, `LLM_PRICES` overrides and how a name is matched.

USD per one million tokens (input, output), as the providers list them. The same table prices the
estimate shown before a run, each request's budget reservation and the ledger, so the three agree.

Matching: the exact name first, then the longest table entry the name starts with (after dropping
an `org/` prefix and lower-casing), so dated snapshots (`gpt-4o-2024-08-06`), Hugging Face ids
(`meta-llama/Llama-3.1-8B-Instruct`) and Ollama tags (`qwen2.5:7b`) find their family. A name that
matches nothing is priced with the `default` row (gpt-4o's price, high for most models), so spend
is never silently counted as zero.

Open-weights families (Llama, Qwen, Mistral, Gemma, Phi, gpt-oss, …) are priced 0: served by your
own vLLM or Ollama they cost no tokens. A hosted service that bills for them (Together, Groq,
Mistral's API) must be named in `LLM_PRICES`, e.g. `LLM_PRICES=llama-3.1-70b=0.88/0.88`.

Beside the prices, each family's training-data cutoff (`DEFAULT_KNOWLEDGE_CUTOFFS`), matched by
the same rules: a model may remember any price before it, so what it says about earlier points
can be memory, not skill (`LLM_KNOWLEDGE_CUTOFF` overrides it for the configured model). A name
that matches no family has an unknown cutoff, read as "today": every past point is suspect.

Batch work (the providers' batch APIs) is billed at `BATCH_DISCOUNT` of these prices.

Light on purpose (no imports beyond the standard library): `core.settings` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

Price = tuple[float, float]  # USD per 1M input tokens, per 1M output tokens

DEFAULT_PRICE: Price = (2.50, 10.00)

DEFAULT_LLM_PRICES: dict[str, Price] = {
    # OpenAI (list prices per 1M tokens)
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    # Open-weights families, self-hosted (vLLM, Ollama): no per-token cost. See the module docstring.
    "llama": (0.0, 0.0),
    "codellama": (0.0, 0.0),
    "qwen": (0.0, 0.0),
    "mistral": (0.0, 0.0),
    "mixtral": (0.0, 0.0),
    "gemma": (0.0, 0.0),
    "phi": (0.0, 0.0),
    "gpt-oss": (0.0, 0.0),
    "deepseek-r1": (0.0, 0.0),
    # Anything else.
    "default": DEFAULT_PRICE,
}


# The providers' batch APIs (OpenAI Batch, Anthropic Message Batches) bill half the list price.
BATCH_DISCOUNT = 0.5

# Training-data cutoffs as the providers publish them (model cards); for an open-weights family,
# its newest release's. Keys match like the price table's.
DEFAULT_KNOWLEDGE_CUTOFFS: dict[str, date] = {
    "gpt-5": date(2024, 9, 30),
    "gpt-5-mini": date(2024, 5, 31),
    "gpt-5-nano": date(2024, 5, 31),
    "gpt-4.1": date(2024, 6, 1),
    "gpt-4.1-mini": date(2024, 6, 1),
    "gpt-4.1-nano": date(2024, 6, 1),
    "gpt-4o": date(2023, 10, 1),
    "gpt-4o-mini": date(2023, 10, 1),
    "gpt-4-turbo": date(2023, 12, 1),
    "gpt-4": date(2021, 9, 1),
    "gpt-3.5-turbo": date(2021, 9, 1),
    "o1": date(2023, 10, 1),
    "o1-mini": date(2023, 10, 1),
    "o3": date(2024, 6, 1),
    "o3-mini": date(2023, 10, 1),
    "o4-mini": date(2024, 6, 1),
    "llama": date(2023, 12, 1),
    "codellama": date(2023, 1, 1),
    "qwen": date(2024, 12, 31),
    "mistral": date(2024, 6, 1),
    "mixtral": date(2023, 12, 1),
    "gemma": date(2024, 8, 1),
    "phi": date(2024, 6, 1),
    "gpt-oss": date(2024, 6, 1),
    "deepseek-r1": date(2024, 7, 1),
}


def _family(table: Mapping[str, object], model: str) -> str | None:
    """The table key `model` belongs to: exact, then case-insensitive, then the longest prefix."""
    if model in table:
        return model
    name = model.rsplit("/", 1)[-1].lower()
    lowered = {key.lower(): key for key in table if key != "default"}
    if name in lowered:
        return lowered[name]
    family = max((key for key in lowered if name.startswith(key)), key=len, default=None)
    return None if family is None else lowered[family]


def cutoff_for(model: str, override: date | None = None) -> date | None:
    """The training-data cutoff of `model`: the override, else its family's, else None (unknown)."""
    if override is not None:
        return override
    family = _family(DEFAULT_KNOWLEDGE_CUTOFFS, model)
    return None if family is None else DEFAULT_KNOWLEDGE_CUTOFFS[family]


def parse_prices(text: str) -> dict[str, Price]:
    """`model=in/out,model2=in/out` (USD per 1M tokens) over the built-in table."""
    prices = dict(DEFAULT_LLM_PRICES)
    for item in filter(None, (p.strip() for p in text.split(","))):
        try:
            model, pair = item.split("=", 1)
            inp, out = (float(x) for x in pair.split("/", 1))
        except ValueError as exc:
            raise ValueError(
                f"LLM_PRICES entry {item!r} is not 'model=input_usd/output_usd' (per 1M tokens)"
            ) from exc
        if not (inp >= 0 and out >= 0 and inp < float("inf") and out < float("inf")):
            raise ValueError(f"LLM_PRICES entry {item!r}: prices must be finite and not negative")
        prices[model.strip()] = (inp, out)
    return prices


def price_for(prices: Mapping[str, Price], model: str) -> Price:
    """The price of `model` under the matching rules of the module docstring."""
    family = _family(prices, model)
    if family is not None:
        return prices[family]
    return prices.get("default") or DEFAULT_PRICE

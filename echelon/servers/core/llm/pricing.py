"""What model calls cost: a price table per model name, so usage can say an estimated cost per step, phase and run.

Prices are US dollars per million tokens, list prices of the providers' public pages; ``[models.prices]`` in
``echelon.toml`` adds or overrides entries (a negotiated rate, a model this table does not know). A model with no
price is not guessed at: its calls count nothing, and usage lists it in ``unpriced_models``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Price(BaseModel):
    """The price of one model, in US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="USD per million input tokens")
    output: float = Field(ge=0, description="USD per million output tokens")

    def of(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


DEFAULT_PRICES: dict[str, Price] = {
    "anthropic:claude-opus-4-1": Price(input=15.0, output=75.0),
    "anthropic:claude-sonnet-4-5": Price(input=3.0, output=15.0),
    "anthropic:claude-haiku-4-5": Price(input=1.0, output=5.0),
    "openai:gpt-4.1": Price(input=2.0, output=8.0),
    "openai:gpt-4.1-mini": Price(input=0.4, output=1.6),
    "openai:gpt-4.1-nano": Price(input=0.1, output=0.4),
    "openai:gpt-4o": Price(input=2.5, output=10.0),
    "openai:gpt-4o-mini": Price(input=0.15, output=0.6),
}


def price_of(model_name: str, overrides: dict[str, Price] | None = None) -> Price | None:
    """The price of ``model_name`` (``provider:model``): the config's entry, else the table's; the embedded local
    model costs nothing; None when unknown."""
    table = DEFAULT_PRICES | (overrides or {})
    if model_name in table:
        return table[model_name]
    if model_name == "local" or model_name.startswith("local:"):
        return Price(input=0.0, output=0.0)
    return None

"""Numbers and clipped text as the offline drafter writes them."""


def num(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"


def clip(text: str, limit: int) -> str:
    """Long record text still fits the output schema's limits."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."

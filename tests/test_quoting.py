"""How a sentence is shown in an answer (assistant/quoting.py): pure text rules."""

from __future__ import annotations

from assistant.quoting import shown_in, trimmed


def test_latex_math_signs_the_scrape_left_read_as_the_signs():
    """"$11.9\\times$" scraped as "11.9times", "$11.0 \\pm 1.3$" as "11.0 pm 1.3": shown as the PDF reads
    ("11.9×", "11.0 ± 1.3"); plain English "3 times faster" and a "pm" that is no sign stay."""
    raw = "This gives 11.0 pm 1.3 points, with 11.9times higher throughput than FlashAttention-2."
    assert trimmed(raw) == "This gives 11.0 ± 1.3 points, with 11.9× higher throughput than FlashAttention-2."
    assert trimmed("It is 2\\times smaller and 4 \\times faster.") == "It is 2× smaller and 4× faster."
    assert trimmed("It is 3 times faster at 5 pm daily.") == "It is 3 times faster at 5 pm daily."
    assert shown_in(raw, f"According to X: {trimmed(raw)} [1]")

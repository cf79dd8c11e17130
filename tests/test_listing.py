"""Which papers a "which papers …?" answer lists (assistant/listing.py)."""

from __future__ import annotations


def test_listing_score_weighs_support_by_the_specific_terms_said():
    from assistant.listing import MULTI_RATIO, listing_score

    assert listing_score(0.6, 1.0) > listing_score(0.8, 0.0)  # says the specific thing, less alike overall
    assert listing_score(0.5, 0.5) < MULTI_RATIO * listing_score(0.6, 1.0)  # on the topic, not the point

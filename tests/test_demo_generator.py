"""The demo generator's fast draws are the random module's own: the same district for a seed."""

import random

from hypothesis import given
from hypothesis import strategies as st

from kiosk.demo.district import REGION_CODES, _below, _id_number
from kiosk.households.roster.fields import id_check_char, parse_id_number


@given(st.integers(0, 2**32), st.lists(st.integers(1, 10**9), min_size=1, max_size=50))
def test_below_draws_as_randrange_choice_and_randint(seed, bounds):
    ours, theirs = random.Random(seed), random.Random(seed)
    below = _below(ours)
    for n in bounds:
        assert below(n) == theirs.randrange(n)
        seq = "abcdefghij"[: 1 + n % 10]
        assert seq[below(len(seq))] == theirs.choice(seq)
        assert 3 + below(n) == theirs.randint(3, n + 2)
    assert ours.random() == theirs.random()  # and the streams are still in step


@given(st.integers(0, 2**32))
def test_weighted_draws_match_choices(seed):
    from bisect import bisect

    from kiosk.demo.district import _SIZE_CUM, _SIZE_TOTAL, _SIZES

    ours, theirs = random.Random(seed), random.Random(seed)
    for _ in range(20):
        mine = _SIZES[bisect(_SIZE_CUM, ours.random() * _SIZE_TOTAL, 0, 4)]
        assert mine == theirs.choices([1, 2, 3, 4, 5], weights=[18, 30, 28, 15, 9])[0]


@given(
    st.sampled_from(REGION_CODES),
    st.integers(1900, 2025),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 999),
)
def test_id_numbers_carry_the_check_character_of_their_body(region, year, month, day, seq):
    number = _id_number(region, year, month, day, seq)
    body = f"{region}{year:04d}{month:02d}{day:02d}{seq:03d}"
    assert number == body + id_check_char(body)
    assert parse_id_number(number) is not None  # the roster importer accepts it


def test_demo_id_numbers_are_never_born_after_today():
    """Children born this year get a birth date no later than today (the importer refuses
    dates in the future), on any day of the year."""
    from datetime import date

    from kiosk.demo.district import DistrictGenerator

    for today in (date(2026, 1, 1), date(2026, 6, 15)):
        gen = DistrictGenerator(2000, 3, "dev", today=today)
        for batch in gen.batches():
            for member in batch.rows.get("members", ()):
                parse_id_number(member[6], today)  # raises on a date after today

"""What names an association, resolved on an in-memory store: a button's exact key, an ID, an
ARN's ID with its account and region, and the misses each can meet."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.resolve import Miss, resolve
from bot.models import AssociationKey, AssociationRef, TrackedAssociation
from bot.store import Store
from tests.fakes.estate import association_id, store_estate

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ID = association_id(0)


def two_regions() -> Store:
    store = Store(":memory:")
    store_estate(store, failing=1, now=NOW)
    store_estate(store, failing=1, now=NOW, region="us-east-1")
    return store


def test_an_exact_key_names_one_association() -> None:
    key = AssociationKey("111111111111", "us-east-1", ID)
    found = resolve(two_regions(), key, NOW)
    assert isinstance(found, TrackedAssociation)
    assert found.key == key


def test_an_id_in_two_regions_is_ambiguous_until_its_region_is_given() -> None:
    store = two_regions()
    ambiguous = resolve(store, AssociationRef(ID), NOW)
    assert isinstance(ambiguous, Miss)
    assert (ambiguous.why, len(ambiguous.known_in)) == ("ambiguous", 2)
    found = resolve(store, AssociationRef(ID, "111111111111", "eu-west-1"), NOW)
    assert isinstance(found, TrackedAssociation)


def test_a_key_elsewhere_says_where_the_id_is_and_an_unknown_id_says_so() -> None:
    store = two_regions()
    elsewhere = resolve(store, AssociationKey("999999999999", "eu-west-1", ID), NOW)
    assert isinstance(elsewhere, Miss)
    assert elsewhere.why == "elsewhere"
    assert elsewhere.known_places == "111111111111 eu-west-1, 111111111111 us-east-1"
    unknown = resolve(store, AssociationRef(association_id(99)), NOW)
    assert isinstance(unknown, Miss)
    assert (unknown.why, unknown.detail) == ("unknown", "unknown association")

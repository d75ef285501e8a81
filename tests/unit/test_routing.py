import pytest

from grid_service.domain.routing import Rule, choose_rule

RULES = [
    Rule(1, "*", "230108001", "urban_management"),
    Rule(2, "outdoor_barbecue", "", "urban_management"),
    Rule(3, "*", "230108002", "street_office"),
    Rule(4, "exposed_garbage", "230108002", "sanitation"),
    Rule(5, "construction_dust", "230108001001", "housing"),
]


@pytest.mark.parametrize(
    "category, cell, rule_id",
    [
        ("outdoor_barbecue", "230108001001001", 1),  # a longer area beats an explicit category
        ("outdoor_barbecue", "230108002001001", 3),
        ("outdoor_barbecue", "230108003001001", 2),  # only the everywhere rule matches
        ("exposed_garbage", "230108002001001", 4),  # same area: explicit category beats "*"
        ("construction_dust", "230108001001002", 5),  # community-level rule
        ("construction_dust", "230108001002001", 1),
        ("exposed_garbage", "230108003001001", None),  # nothing matches
    ],
)
def test_most_specific_rule_wins(category, cell, rule_id):
    chosen = choose_rule(RULES, category, cell)
    assert (chosen.id if chosen else None) == rule_id


def test_rule_order_does_not_matter():
    for rules in (RULES, list(reversed(RULES))):
        assert choose_rule(rules, "exposed_garbage", "230108002001001").id == 4


def test_uuid7_is_version_7_and_time_ordered():
    import time

    from grid_service.domain.ids import uuid7

    first = uuid7()
    time.sleep(0.002)
    second = uuid7()
    assert first.version == 7 and first.variant == "specified in RFC 4122"
    assert first < second

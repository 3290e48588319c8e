"""The Medicare policy table answers which MAC published an LCD, its number and its dates, on the date of service."""

from datetime import date, timedelta

import pytest

from assistant.policies import PolicyTable, answer, policy_table
from assistant.reader import reader


@pytest.fixture(scope="module")
def table() -> PolicyTable:
    return policy_table()


def _ask(question: str, day: date, table: PolicyTable) -> list[str]:
    return answer(reader().read(question), day, table)


def test_every_policy_names_a_known_mac_a_known_replacement_and_a_source(table):
    for policy in table.policies.values():
        assert policy.mac in table.macs and policy.sources
        assert policy.replaced_by is None or policy.replaced_by in table.policies
        assert policy.retired is None or policy.effective_from is None or policy.effective_from < policy.retired
    articles = [a for p in table.policies.values() for a in p.articles]
    assert len(articles) == len(set(articles))


def test_an_lcd_named_with_a_question_about_it_gets_its_mac_and_dates(table):
    policy = next(p for p in table.policies.values() if p.effective_from and p.articles)
    said = _ask(f"{policy.id} is which MAC? and orig eff date", date(2026, 11, 27), table)
    assert said[0].startswith(f"{policy.id} is the LCD of {table.macs[policy.mac].name}")
    assert policy.effective_from.isoformat() in said[0] and policy.articles[0] in said[0]


def test_an_lcd_without_a_sourced_date_says_to_check_the_mcd(table):
    policy = next(p for p in table.policies.values() if p.effective_from is None)
    assert "Medicare Coverage Database" in _ask(f"{policy.id} original effective date?", date(2026, 11, 27), table)[0]


def test_a_mac_asked_for_its_lcd_number_gets_the_one_in_effect_on_the_date(table):
    def only_one_in_effect(policy):
        day = policy.retired - timedelta(days=1)
        return len([p for p in table.of_mac(policy.mac) if p.in_effect(day)]) == 1
    old = next(p for p in table.policies.values() if p.retired and p.replaced_by and only_one_in_effect(p))
    new = table.policies[old.replaced_by]
    mac = table.macs[old.mac]
    for day, current in ((old.retired - timedelta(days=1), old), (old.retired, new)):
        said = _ask(f"{mac.id} LCD # for kypho?", day, table)[0]
        assert said.startswith(f"The PVA LCD of {mac.name} on {day.isoformat()}: {current.id} is the LCD")


def test_an_article_number_leads_to_its_lcd_and_a_retired_one_to_its_replacement(table):
    old = next(p for p in table.policies.values() if p.retired and p.replaced_by and p.articles)
    said = _ask(f"they retired {old.articles[0]} - what is the current LCD #?", date(2026, 11, 27), table)
    assert said[0].startswith(f"{old.id} is the LCD") and said[1].startswith(f"{old.replaced_by} is the LCD")


def test_a_criteria_question_naming_an_lcd_is_left_to_the_coverage_answer(table):
    policy = next(iter(table.policies.values()))
    assert _ask(f"{policy.id} pain score threshold for a non-hospitalized pt?", date(2026, 11, 27), table) == []

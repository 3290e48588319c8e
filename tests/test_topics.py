from assistant.topics import TOPICS, topics_of


def test_topics_read_off_the_facts(parse, codebook):
    assert {"cross_region", "multi_level"} <= topics_of(parse("kyphoplasty T12 and L1"), codebook)
    assert {"deleted_code"} <= topics_of(parse("Is 22520 still valid?"), codebook)
    assert {"biopsy", "sedation"} <= topics_of(parse("PKP L1, biopsy of L3, moderate sedation 20 min"), codebook)
    assert "before_2015" in topics_of(parse("PVP L2 in 2013"), codebook)
    assert topics_of(parse("PVP L2 in 2021"), codebook).isdisjoint({"before_2015", "cross_region"})


def test_every_doc_topic_is_known(codebook):
    from assistant.config import PROJECT_ROOT
    from assistant.corpus import read_doc

    used = {t for p in (PROJECT_ROOT / "corpus" / "docs").rglob("*.md") for t in read_doc(p).topics}
    assert used <= set(TOPICS) and len(used) == len(TOPICS)


def test_coverage_and_modifier_topics_follow_what_is_asked(parse, codebook):
    denial = parse("22515 denied 'requires a qualifying service be received and covered.' fix?")
    assert "coverage" not in topics_of(denial, codebook)
    assert "coverage" in topics_of(parse("is kypho L1 covered for this pt?"), codebook)
    assert "modifier" in topics_of(parse("PKP L2, bx of L4 which was not treated"), codebook)
    assert "modifier" not in topics_of(parse("PKP L2 with bx of L2"), codebook)
    assert "modifier" not in topics_of(parse("PVP L3 on 2010-11-05"), codebook)

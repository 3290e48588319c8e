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

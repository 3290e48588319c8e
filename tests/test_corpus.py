import shutil
from pathlib import Path

import pytest

from assistant.codebook import Codebook
from assistant.config import PROJECT_ROOT
from assistant.corpus import check, chunk, coverage_report, import_cpt, index_docs, licensed_docs, read_doc
from assistant.errors import CorpusError

CORPUS = PROJECT_ROOT / "corpus"


def test_the_real_corpus_and_code_table_pass_every_check(codebook):
    assert [str(p) for p in check(CORPUS, codebook)] == []


def test_every_code_is_described_by_a_doc(codebook):
    report = coverage_report(CORPUS, codebook)
    assert set(report) == set(codebook.entries) and all(report.values())


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    return tmp_path / "corpus"


def test_check_names_file_and_field_of_each_problem(corpus_copy):
    doc = next((corpus_copy / "docs").rglob("*.md"))
    text = doc.read_text().replace("license: ", "license: secret-", 1)
    doc.write_text(text.replace("\n---\n", "\n---\nMentions 22599 which does not exist.\n", 1))
    problems = check(corpus_copy, Codebook.load(corpus_copy / "codes"))
    fields = {(Path(p.file).name, p.field) for p in problems}
    assert (doc.name, "license") in fields and (doc.name, "body") in fields


def test_code_table_problems_are_reported(corpus_copy):
    table = corpus_copy / "codes" / "procedures.yaml"
    table.write_text(table.read_text().replace('add_on_for: ["22513", "22514"]', 'add_on_for: ["22513", "29999"]'))
    problems = check(corpus_copy, Codebook.load(corpus_copy / "codes"))
    assert any(p.field == "add_on_for" and "29999" in p.message for p in problems)


def test_nothing_half_valid_is_indexed(corpus_copy, tmp_path):
    next((corpus_copy / "docs").rglob("*.md")).write_text("no front matter here")
    with pytest.raises(CorpusError, match="no front matter"):
        index_docs(corpus_copy, tmp_path, Codebook.load(corpus_copy / "codes"))


def test_chunks_keep_metadata_and_stay_small():
    doc = read_doc(CORPUS / "docs" / "history" / "hist-2015-restructure.md")
    chunks = chunk(doc)
    assert chunks and all(c.doc_id == doc.id and len(c.text) < 1600 for c in chunks)


def test_import_cpt_replaces_paraphrases_for_those_codes(tmp_path, codebook):
    source = tmp_path / "ama.tsv"
    source.write_text("22510\tLICENSED TEXT A\n22511\tLICENSED TEXT B\n22512\tLICENSED TEXT C\n99999\tnot ours\n")
    assert import_cpt(source, tmp_path, codebook) == 3
    docs = index_docs(CORPUS, tmp_path, codebook)
    ids = {d.id for d in docs}
    assert {"cpt-22510", "cpt-22511", "cpt-22512"} <= ids and "desc-vertebroplasty-22510-22512" not in ids
    assert all(d.license == "cpt-licensed" for d in licensed_docs(tmp_path, codebook))


def test_import_cpt_rejects_a_bad_file(tmp_path, codebook):
    bad = tmp_path / "bad.tsv"
    bad.write_text("22510 no tab here\n")
    with pytest.raises(CorpusError, match="code<TAB>descriptor"):
        import_cpt(bad, tmp_path, codebook)


def test_a_seventh_character_the_category_does_not_allow_is_a_table_problem(corpus_copy):
    table = corpus_copy / "codes" / "icd10.yaml"
    table.write_text(table.read_text().replace("\ncodes:\n", '\ncodes:\n  - {code: M48.54XK, system: ICD-10-CM, '
                                               'description: "x", sources: ["x"]}\n', 1))
    problems = check(corpus_copy, Codebook.load(corpus_copy / "codes"))
    assert any(p.field == "code" and "M48.54XK" in p.message for p in problems)

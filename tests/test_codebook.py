from datetime import date

import pytest
from conftest import code_set


@pytest.mark.parametrize(("question", "dos", "expected"), [
    # 2015 restructure: both sides of 2015-01-01
    ("vertebroplasty T10", "2014-12-31", {("22520", 1, ()), ("72291", 1, ())}),
    ("vertebroplasty T10", "2015-01-01", {("22510", 1, ())}),
    ("vertebroplasty L3", "2014-12-31", {("22521", 1, ()), ("72291", 1, ())}),
    ("vertebroplasty L3", "2015-01-01", {("22511", 1, ())}),
    ("kyphoplasty T10", "2014-12-31", {("22523", 1, ()), ("72291", 1, ())}),
    ("kyphoplasty T10", "2015-01-01", {("22513", 1, ())}),
    ("kyphoplasty L3 and L4", "2014-12-31", {("22524", 1, ()), ("22525", 1, ()), ("72291", 2, ())}),
    ("kyphoplasty L3 and L4", "2015-01-01", {("22514", 1, ()), ("22515", 1, ())}),
    ("vertebroplasty L2-L4 under CT", "2014-06-01", {("22521", 1, ()), ("22522", 2, ()), ("72292", 3, ())}),
    ("vertebroplasty L2-L4 under CT", "2015-06-01", {("22511", 1, ()), ("22512", 2, ())}),
])
def test_codes_on_both_sides_of_the_2015_restructure(derive, question, dos, expected):
    assert code_set(derive(question, dos)) == expected


def test_add_on_units_count_each_additional_body(derive):
    assert code_set(derive("kyphoplasty T10-L2", "2024-01-01")) == {("22513", 1, ()), ("22515", 4, ())}


@pytest.mark.parametrize(("question", "primaries"), [
    ("kyphoplasty T12 and L1", {"22513", "22514"}),
    ("vertebroplasty T12 and L1", {"22510", "22511"}),
])
def test_cross_region_offers_either_primary(derive, question, primaries):
    result = derive(question, "2023-05-05")
    chosen = [c.code for c in result.codes if c.code in primaries]
    assert len(chosen) == 1 and set(result.alternatives) == primaries - set(chosen)


@pytest.mark.parametrize(("question", "dos", "expected"), [
    ("vertebroplasty C5", "2014-12-31", "22899"),
    ("vertebroplasty C5", "2015-01-01", "22510"),
    ("balloon kyphoplasty C5", "2014-12-31", "22899"),
    ("balloon kyphoplasty C5", "2025-01-01", "22899"),
])
def test_cervical_levels(derive, question, dos, expected):
    assert [c.code for c in derive(question, dos).codes] == [expected]


def test_sacral_augmentation_by_laterality_one_unit(derive):
    assert code_set(derive("unilateral sacroplasty S1-S2", "2022-01-01")) == {("0200T", 1, ())}
    assert code_set(derive("bilateral sacroplasty", "2022-01-01")) == {("0201T", 1, ())}
    assert derive("sacroplasty", "2022-01-01").clarification


@pytest.mark.parametrize(("question", "dos", "expected"), [
    ("bilateral sacroplasty under fluoro", "2014-12-31", {("0201T", 1, ()), ("72291", 1, ())}),
    ("bilateral sacroplasty under fluoro", "2015-01-01", {("0201T", 1, ())}),
    ("unilateral sacroplasty, CT guided, with biopsy of the sacrum", "2013-06-01",
     {("0200T", 1, ()), ("72292", 1, ()), ("20225", 1, ())}),
    ("unilateral sacroplasty, CT guided, with biopsy of the sacrum", "2015-06-01", {("0200T", 1, ())}),
    ("bilateral sacroplasty", "2009-06-30", {("22899", 1, ())}),
    ("bilateral sacroplasty under fluoro", "2009-07-01", {("0201T", 1, ()), ("72291", 1, ())}),
])
def test_sacral_augmentation_before_and_after_2015(derive, question, dos, expected):
    assert code_set(derive(question, dos)) == expected


def test_biopsy_other_level_gets_xs_from_2015_and_59_before(derive):
    assert ("20225", 1, ("XS",)) in code_set(derive("kyphoplasty L2 with biopsy at L4", "2015-01-01"))
    assert ("20225", 1, ("59",)) in code_set(derive("kyphoplasty L2 with biopsy at L4", "2014-12-31"))


def test_biopsy_same_level_is_included(derive):
    result = derive("kyphoplasty L2 with biopsy of L2", "2020-01-01")
    assert "20225" not in {c.code for c in result.codes} and any("included" in w for w in result.warnings)


@pytest.mark.parametrize(("minutes", "expected"), [
    (9, set()), (10, {("99152", 1, ())}), (22, {("99152", 1, ())}), (23, {("99152", 1, ()), ("99153", 1, ())}),
    (37, {("99152", 1, ()), ("99153", 1, ())}), (38, {("99152", 1, ()), ("99153", 2, ())}),
])
def test_moderate_sedation_time_thresholds_from_2017(derive, minutes, expected):
    result = derive(f"kyphoplasty T8, moderate sedation {minutes} minutes, 70 yo", "2017-01-01")
    assert code_set(result) - {("22513", 1, ())} == expected


def test_moderate_sedation_included_before_2017(derive):
    result = derive("kyphoplasty T8, moderate sedation 40 minutes", "2016-12-31")
    assert code_set(result) == {("22513", 1, ())} and any("bull's-eye" in w for w in result.warnings)


def test_sedation_other_physician_and_young_patient(derive):
    other = derive("kyphoplasty T8, moderate sedation 30 min by a different physician", "2020-01-01")
    assert {"99156", "99157"} <= {c.code for c in other.codes}
    child = derive("kyphoplasty T8 in a 4 year old, moderate sedation 15 minutes", "2020-01-01")
    assert "99151" in {c.code for c in child.codes}


def test_sedation_without_minutes_asks(derive):
    assert "minutes" in derive("kyphoplasty T8 with moderate sedation", "2020-01-01").clarification


def test_missing_facts_ask_instead_of_guessing(derive):
    assert "level" in derive("Kyphoplasty, what code?").clarification
    assert "cavity" in derive("L2 procedure for compression fracture, code?").clarification


def test_dates_before_the_table_are_refused(derive):
    result = derive("vertebroplasty L1", "2000-05-05")
    assert not result.codes and "outside this code table" in result.warnings[0]


@pytest.mark.parametrize(("question", "dos", "expected"), [
    # 2001-2006: vertebroplasty codes with the S&I codes of their day (AAPC, 'Long-Awaited Codes Herald Payment')
    ("vertebroplasty L2 and L3 under fluoroscopy", "2003-05-05", {("22521", 1, ()), ("22522", 1, ()), ("76012", 2, ())}),
    ("vertebroplasty T9 under CT", "2006-12-31", {("22520", 1, ()), ("76013", 1, ())}),
    ("vertebroplasty T9 under CT", "2007-01-01", {("22520", 1, ()), ("72292", 1, ())}),
    ("kyphoplasty T12 under fluoroscopy", "2006-05-05", {("22523", 1, ()), ("76012", 1, ())}),
    # before 2006 kyphoplasty had no CPT code: Medicare took 22899 once per level (AAPC, 'CPT 2005 ...')
    ("kyphoplasty T12 and L1", "2005-08-15", {("22899", 2, ())}),
    ("kyphoplasty L1", "2005-08-15", {("22899", 1, ())}),
])
def test_codes_before_2007_come_from_the_table(derive, question, dos, expected):
    assert code_set(derive(question, dos)) == expected


def test_the_per_level_unlisted_units_hold_only_for_old_kyphoplasty(derive):
    assert code_set(derive("vertebroplasty C5 and C6", "2014-05-05")) == {("22899", 1, ())}


def test_sedation_before_the_moderate_sedation_codes_is_named_not_derived(derive, codebook):
    result = derive("vertebroplasty L1, moderate sedation by the surgeon 30 minutes", "2004-03-03")
    assert not [c for c in result.codes if codebook.get(c.code).family == "sedation"]
    named = [e.code for e in codebook.where(date(2004, 3, 3), family="sedation") if e.note]
    assert named and any(w.startswith("/".join(named)) for w in result.warnings)


@pytest.mark.parametrize(("question", "dos", "expected"), [
    ("kyphoplasty L1 for osteoporotic fracture", "2015-10-01", {"22514", "M80.08XA"}),
    ("kyphoplasty L1 for osteoporotic fracture", "2015-09-30", {"22514"}),
    ("kyphoplasty T10 for multiple myeloma", "2020-01-01", {"22513", "M84.58XA", "C90.00"}),
    ("vertebroplasty L3 for metastatic breast cancer", "2020-01-01", {"22511", "M84.58XA", "C79.51", "C50.919"}),
    ("vertebroplasty L3, mets from left breast ca, on letrozole", "2020-01-01", {"22511", "M84.58XA", "C79.51", "C50.912"}),
    ("kypho T9, path fx from mets; hx of breast ca s/p mastectomy 2012", "2020-01-01", {"22513", "M84.58XA", "C79.51", "Z85.3"}),
    ("kypho T9, metastatic lung ca (RUL primary)", "2021-05-05", {"22513", "M84.58XA", "C79.51", "C34.11"}),
    ("kypho T9 for metastatic NSCLC of the left lung", "2021-05-05", {"22513", "M84.58XA", "C79.51", "C34.92"}),
    ("VP L5, metastatic prostate adenocarcinoma on ADT", "2022-02-02", {"22511", "M84.58XA", "C79.51", "C61"}),
    ("VP L1, spine mets from left renal cell carcinoma", "2022-02-02", {"22511", "M84.58XA", "C79.51", "C64.2"}),
    ("kypho L1 for an osteoporotic fracture; hx of breast ca, no mets", "2022-02-02", {"22514", "M80.08XA"}),
    ("kypho T9 for mets; h/o breast ca, currently on letrozole", "2022-02-02", {"22513", "M84.58XA", "C79.51", "C50.919"}),
    ("vertebroplasty T12 traumatic fracture after a fall", "2020-01-01", {"22510", "S22.080A"}),
    ("vertebroplasty L2 aggressive hemangioma", "2020-01-01", {"22511", "D18.09"}),
    ("kyphoplasty L1, stable burst fracture after a high-energy injury", "2025-04-22", {"22514", "S32.011A"}),
    ("kyphoplasty T7 for an unstable burst fracture after an MVA", "2024-01-01", {"22513", "S22.062A"}),
    ("vertebroplasty T3 traumatic compression fracture after a fall", "2023-03-03", {"22510", "S22.030A"}),
])
def test_icd10_linkage_from_the_table(derive, question, dos, expected):
    assert {c.code for c in derive(question, dos).codes} == expected


def test_a_condition_is_replaced_only_by_conditions_of_the_table(codebook):
    ids = {c.id for c in codebook.conditions}
    replacing = {r for c in codebook.conditions for r in c.replaced_by}
    assert replacing and replacing <= ids, replacing - ids


def test_metastatic_fracture_reminds_to_code_the_primary_cancer(derive, codebook):
    warnings = derive("vertebroplasty L3 for metastatic breast cancer", "2020-01-01").warnings
    also = next(c.also for c in codebook.conditions if c.id == "metastatic_fracture")
    assert also and also in warnings
    assert also not in derive("vertebroplasty L3 for multiple myeloma", "2020-01-01").warnings


def test_validity_and_replacement_come_from_the_table(codebook):
    old = codebook.get("22520")
    assert old.valid_on(date(2014, 12, 31)) and not old.valid_on(date(2015, 1, 1))
    assert old.validity_problem(date(2015, 1, 1)) == "22520 was deleted 2015-01-01"
    assert "22510" in codebook.replacement_text("22520")
    assert codebook.get("22515").add_on_for == ["22513", "22514"]
    assert codebook.get("XS").valid_on(date(2015, 1, 1)) and not codebook.get("XS").valid_on(date(2014, 12, 31))


def test_modifier_cues_from_the_table(derive):
    assert ("22514", 1, ("22",)) in code_set(derive("Kypho L1 took 3+ hrs, surgeon documented the extra work", "2020-01-01"))
    assert ("72291", 1, ("26",)) in code_set(derive("PVP L2 fluoro, hospital setting, pro fee only", "2011-05-05"))
    assert ("72291", 1, ("26",)) in code_set(derive("PVP L2 under fluoro in the hosp outpatient dept", "2011-05-05"))
    assert ("72291", 1, ()) in code_set(derive("PVP L2 under fluoro in the office", "2011-05-05"))


def test_mixed_procedures_pre_2015_share_one_imaging_line(derive):
    result = derive("PVP T9 and kyphoplasty T11 same sitting, fluoro", "2013-03-03")
    assert code_set(result) == {("22520", 1, ()), ("22523", 1, ()), ("72291", 2, ())}


def test_a_compression_fracture_nos_is_a_collapsed_vertebra(derive, codebook):
    thoracic = next(c for c in codebook.conditions if c.id == "collapsed_vertebra").by_region["thoracic"]
    codes = {c.code for c in derive("thoracic compression fx NOS, no osteoporosis, no trauma. initial. code?",
                                    "2020-01-01").codes}
    assert thoracic.replace("{enc}", "A") in codes


def test_collapsed_vertebra_and_myeloma_status(derive):
    assert "M48.54XA" in {c.code for c in derive("Kypho T9 for collapsed vertebra NEC, no osteoporosis", "2020-01-01").codes}
    assert "C90.02" in {c.code for c in derive("kyphoplasty T10, multiple myeloma in relapse", "2020-01-01").codes}


def test_sibling_code_by_region(codebook):
    assert codebook.sibling("22523", "lumbar").code == "22524"
    assert codebook.sibling("22510", "thoracic").code == "22510"


def test_imaging_si_read_by_the_radiologist_stays_off_the_surgeons_claim(derive):
    result = derive("PVP T7 + T9 8/19/2013, hospital. the staff radiologist ran the fluoro and dictated the S&I, "
                    "not our surgeon. what goes on the surgeon's claim?")
    assert {(c.code, c.units) for c in result.codes} == {("22520", 1), ("22522", 1)}
    assert any("another physician" in w for w in result.warnings)
    own = derive("2013 PVP L1 in the hospital, our radiologist did the fluoro S&I; which modifier on 72291?")
    assert any(c.code == "72291" for c in own.codes)


def test_sedation_by_another_physician_before_2017_is_not_bundled(derive):
    other = derive("kyphoplasty L1 2014-05-06 fluoro, a different physician gave moderate sedation 40 min, hospital")
    assert {("99149", 1), ("99150", 1)} <= {(c.code, c.units) for c in other.codes}
    assert any("facility" in w for w in other.warnings)  # the code's note: facility setting only
    short = derive("kyphoplasty L1 2014-05-06, a different physician gave moderate sedation 12 min")
    assert not any(c.code.startswith("991") for c in short.codes)
    same = derive("kyphoplasty L1 2014-05-06, the surgeon gave moderate sedation 40 min")
    assert not any(c.code.startswith("991") for c in same.codes)
    assert any("not reported separately" in w for w in same.warnings)


def test_seventh_characters_come_from_the_category(codebook, derive):
    assert {c for c in codebook.entries if c.startswith("S22.080")} == {f"S22.080{x}" for x in "ABDGKS"}
    assert {c for c in codebook.entries if c.startswith("M48.54X")} == {f"M48.54X{x}" for x in "ADGS"}
    assert codebook.seventh_character_problem("S22.080P") and codebook.seventh_character_problem("M48.54XK")
    assert codebook.seventh_character_problem("M80.08XP") is None
    nonunion = derive("kyphoplasty T12 for a traumatic wedge fracture after a fall, nonunion", "2021-01-01")
    assert "S22.080K" in {c.code for c in nonunion.codes}
    malunion = derive("kyphoplasty T12 for a traumatic wedge fracture after a fall, malunion", "2021-01-01")
    assert not any(c.code.startswith("S22") for c in malunion.codes)
    assert any("S22.080P is not a valid ICD-10-CM code" in w for w in malunion.warnings)
    assert "M80.08XP" in {c.code for c in derive("kyphoplasty L1 osteoporotic fracture, malunion", "2021-01-01").codes}


def test_a_cited_code_with_a_seventh_character_its_category_lacks_is_rejected_with_the_reason(parse, codebook):
    from assistant.verify import verify
    facts = parse("PKP T12, traumatic wedge fracture after a fall, malunion: is S22.080P right?", "2021-03-03")
    rejected = {r.code: r.reason for r in verify(None, facts, codebook.derive(facts), codebook).rejected}
    assert "takes only the 7th characters A, B, D, G, K, S" in rejected["S22.080P"]


def test_steroid_induced_and_primary_bone_tumour_diagnoses(derive):
    question = "PVP L2 for steroid-induced osteoporosis fracture, on long-term prednisone"
    steroid = {c.code for c in derive(question, "2022-02-02").codes}
    assert {"M80.88XA", "T38.0X5A", "Z79.52"} <= steroid and "M80.08XA" not in steroid
    assert "T38.0X5A" not in {c.code for c in derive("PVP L2 drug-induced osteoporosis fracture", "2022-02-02").codes}
    assert {"M84.58XA", "C41.2"} <= {c.code for c in derive("PVP L3 for a primary osteosarcoma", "2021-01-01").codes}


def test_payer_codes_beside_the_unlisted_code_are_named_never_derived(derive, parse, codebook):
    from assistant.verify import verify
    result = derive("vertebroplasty C5, DOS 2013-04-04")
    assert {c.code for c in result.codes} == {"22899"}
    assert "S2360" in result.payer_alternatives and any("S2360" in w for w in result.warnings)
    facts = parse("vertebroplasty C5, DOS 2013-04-04; the payer wants S2360")
    assert "S2360" not in {r.code for r in verify(None, facts, codebook.derive(facts), codebook).rejected}
    assert not derive("vertebroplasty C5, DOS 2016-04-04").payer_alternatives


def test_an_omission_rule_leaves_a_derived_code_off_with_its_reason(derive, parse, codebook):
    from assistant.verify import verify
    question = "PKP L1 for a Medicare pt in the hospital outpatient dept, sedation by the surgeon 35 min; 99153?"
    result = derive(question, "2024-03-03")
    assert {c.code for c in result.codes} == {"22514", "99152"} and "99153" in result.omitted
    facts = parse(question, "2024-03-03")
    rejected = {r.code: r.reason for r in verify(None, facts, codebook.derive(facts), codebook).rejected}
    assert "facility place of service" in rejected["99153"]
    office = derive("PKP L1 for a Medicare pt in the office (non-facility), sedation by the surgeon 35 min", "2024-03-03")
    assert "99153" in {c.code for c in office.codes}


def test_another_physicians_sedation_before_2017_is_left_off_in_an_office(derive):
    office = derive("PVP T8 2015-03-03 in our office-based suite, a different physician gave moderate sedation 30 min")
    assert not any(c.code.startswith("991") for c in office.codes) and "99149" in office.omitted


def test_sedation_by_an_unknown_performer_is_asked_for(parse, codebook):
    asked = codebook.derive(parse("KP L2, 30 min sedation; not sure who gave it, the surgeon or the CRNA", "2019-05-15"))
    known = codebook.derive(parse("KP L2, 30 min sedation given by the surgeon", "2019-05-15"))
    assert asked.missing == "sedation_performer" and "CRNA" in asked.clarification
    assert known.missing is None


def test_a_named_sacral_code_states_the_side(derive, codebook):
    bilateral = next(e for e in codebook.where(date(2012, 7, 1), family="sacral_augmentation")
                     if e.laterality == "bilateral")
    derivation = derive(f"2012 sacroplasty done under CT - which S&I code went with the {bilateral.code}?", "2012-07-01")
    assert derivation.clarification is None and bilateral.code in {c.code for c in derivation.codes}


def test_a_fracture_that_has_not_united_is_a_nonunion_encounter(derive):
    codes = {c.code for c in derive("osteoporotic vertebral fx that hasn't united months later - code?", "2023-02-07").codes}
    assert any(c.endswith("K") for c in codes)


def test_a_rule_asked_about_a_named_sacral_code_is_not_a_case(derive, codebook):
    unilateral = next(e for e in codebook.where(date(2012, 7, 1), family="sacral_augmentation")
                      if e.laterality == "unilateral")
    derivation = derive(f"sacroplasty in 2012 - was imaging guidance included in {unilateral.code}?", "2012-07-01")
    assert derivation.codes == []


@pytest.mark.parametrize(("question", "left_off"), [
    ("Medicare pt, kypho T8 at the HOPD, surgeon gave mod sed 40 min, pt 58", True),
    ("BCBS commercial pt (not Medicare), kypho T8 at the HOPD, surgeon gave mod sed 40 min, pt 58", False),
    ("Medicare pt, kypho T8 in our office-based lab, surgeon gave mod sed 40 min, pt 58", False),
])
def test_a_payer_and_place_rule_needs_both_stated(parse, codebook, question, left_off):
    derived = codebook.derive(parse(question, "2022-05-18"))
    assert ("99153" in derived.omitted) == left_off


def test_no_vertebral_osteoporosis_code_is_derived_for_a_sacral_insufficiency_fracture(parse, codebook):
    sacral = codebook.derive(parse("right sacroplasty for a sacral insufficiency fracture", "2018-10-02"))
    spinal = codebook.derive(parse("PKP L1 for an osteoporotic compression fx", "2018-10-02"))
    assert not any(c.code.startswith("M80") for c in sacral.codes)
    assert any(c.code.startswith("M80.08") for c in spinal.codes)


def test_a_claims_own_primary_code_stands_for_the_unnamed_level(parse, codebook):
    claim = codebook.derive(parse("claim was 22514 + 99144, kypho doc gave the sedation himself, 20 min, pt 66. "
                                  "what do I correct?", "2017-02-13"))
    rule = codebook.derive(parse("mod 50 on 22514 when they do bilateral balloons?", "2024-11-24"))
    assert [c.code for c in claim.codes][:2] == ["22514", "99152"]
    assert not rule.codes


@pytest.mark.parametrize(("question", "dos", "code"), [
    ("Anesthesia coder here. MAC for a kyphoplasty at L1. Which anesthesia code?", "2016-07-12", "01936"),
    ("Anesthesia side only: general anesthesia for an L4 vertebroplasty. Code?", "2024-02-06", "01942"),
    ("Anesthesia coder here. MAC for a T10 kyphoplasty", "2022-05-17", "01941"),
])
def test_the_anesthesia_claim_gets_one_anesthesia_code_by_date_and_region(parse, codebook, question, dos, code):
    anesthesia = [c.code for c in codebook.derive(parse(question, dos)).codes
                  if codebook.get(c.code).family == "anesthesia"]
    assert anesthesia == [code]


@pytest.mark.parametrize(("question", "cue"), [
    ("anesthesia claim only: kypho L2 under GA, MD anesthesiologist personally performed, Medicare",
     "anesthesia.personally_performed"),
    ("anesthesia claim: kypho L1 under GA by CRNA alone, no anesthesiologist", "anesthesia.crna_not_directed"),
    ("anesthesia claim: kypho L1 under GA", None),
])
def test_the_anesthesia_code_takes_the_payment_modifier_of_who_gave_it(parse, codebook, question, cue):
    derived = codebook.derive(parse(question, "2019-11-12"))
    anesthesia = next(c for c in derived.codes if codebook.get(c.code).family == "anesthesia")
    expected = [m.code for m in codebook.entries.values() if m.system == "modifier" and cue in m.cues]
    assert anesthesia.modifiers == expected


@pytest.mark.parametrize(("order", "region"), [("T12, then L1, then L2", "thoracic"),
                                               ("L2, then L1, then T12", "lumbar")])
def test_levels_across_regions_take_the_primary_of_the_first_body_treated(parse, codebook, order, region):
    derived = codebook.derive(parse(f"kypho 2023 - started at {order}, osteoporotic fx", "2023-05-16"))
    primary = next(codebook.get(c.code) for c in derived.codes if codebook.get(c.code).role == "primary")
    assert primary.family == "augmentation" and primary.regions == [region]


def test_a_primary_malignancy_of_the_vertebral_column_needs_no_level(parse, codebook):
    condition = next(c for c in codebook.conditions if "vertebral_column" in c.by_region)
    derived = codebook.derive(parse("icd10 for primary malignant neoplasm of vertebral column?", "2024-01-01"))
    assert not derived.clarification and condition.by_region["vertebral_column"] in {c.code for c in derived.codes}


@pytest.mark.parametrize("question", ["collapsed vertebra nos, site not specified, initial enc code",
                                      "compression fx, no trauma or osteoporosis documented, unspecified site, dx?"])
def test_a_diagnosis_whose_site_is_not_specified_takes_the_unspecified_site_code(parse, codebook, question):
    condition = next(c for c in codebook.conditions if c.id == "collapsed_vertebra")
    derived = codebook.derive(parse(question, "2024-01-01"))
    unspecified = condition.by_region["site_unspecified"].replace("{enc}", "A")
    assert not derived.clarification and {c.code for c in derived.codes} == {unspecified}


def test_no_anesthesia_code_on_the_surgeons_claim(parse, codebook):
    derived = codebook.derive(parse("kypho L1 2024, MAC by anesthesia, they bill their own. surgeon codes?", "2024-02-06"))
    assert not any(codebook.get(c.code).family == "anesthesia" for c in derived.codes)


def test_codes_of_another_era_named_without_a_date_ask_for_the_date(derive, codebook):
    old = next(e for e in codebook.entries.values() if e.family == "augmentation" and e.role == "primary"
               and e.effective_to and "thoracic" in e.regions)
    asked = derive(f"billing {old.code} for a kypho T9, is that right?")
    assert asked.missing == "date" and old.code in asked.clarification and not asked.codes
    dated = derive(f"billing {old.code} for a kypho T9, is that right?", old.effective_to.isoformat())
    assert dated.missing is None and dated.codes


def test_26_or_global_without_a_place_asks_where(derive):
    asked = derive("radiologist did fluoro S&I for a kyphoplasty L3 in 2013. 72291 with the 26 or global?")
    assert asked.missing == "place" and not asked.codes
    told = derive("hospital outpt: radiologist did fluoro S&I for kypho L3 in 2013. 72291 with the 26 or global?")
    assert told.missing is None and any("26" in c.modifiers for c in told.codes)


def test_condition_terms_are_concepts_read_in_context(derive):
    relapse = {c.code for c in derive("PKP L2, multiple myeloma, relapsed", "2022-02-02").codes}
    apart = {c.code for c in derive("PKP L2 for myeloma. Pain relapsed after PT", "2022-02-02").codes}
    assert "C90.02" in relapse and "C90.02" not in apart
    assert "C90.00" in {c.code for c in derive("PKP L2, myeloma not in remission", "2022-02-02").codes}
    both = {c.code for c in derive("PVP L2, osteoporosis due to long-term prednisone", "2022-02-02").codes}
    assert {"M80.88XA", "Z79.52"} <= both and "M80.08XA" not in both
    assert "M80.08XA" not in {c.code for c in derive("PVP L2, no osteoporosis, fell off a ladder", "2022-02-02").codes}


def test_high_energy_trauma_in_a_patient_with_osteoporosis_is_coded_as_the_injury(derive, codebook):
    crash = derive("KP L1: 70F w/ osteoporosis, but the fx was from a highway-speed MVC - stable burst L1, closed",
                   "2021-06-01")
    fall = derive("KP L1: 78F osteoporosis, fell from standing, L1 compression fx", "2021-06-01")
    crash_dx = [c.code for c in crash.codes if codebook.get(c.code).system == "ICD-10-CM"]
    fall_dx = [c.code for c in fall.codes if codebook.get(c.code).system == "ICD-10-CM"]
    assert crash_dx and all(code.startswith("S") for code in crash_dx)
    assert fall_dx and all(code.startswith("M80") for code in fall_dx)


def test_a_diagnosis_asked_when_the_note_is_silent_on_the_cause_asks_for_it(derive):
    asked = derive("dx only: KP T12, note says 'T12 compression fracture', nothing on the cause. what ICD-10?",
                   "2021-06-01")
    assert asked.missing == "fracture_cause" and not asked.codes


def test_a_note_that_names_none_of_the_causes_codes_the_compression_fracture_nos(derive, codebook):
    # the coder checked the causes one by one: the tabular's 'compression fracture of vertebra NOS' (M48.5-)
    coded = derive("dx only: KP T12, note says 'T12 compression fracture' - nothing about osteoporosis, a fall or "
                   "tumor. what ICD-10?", "2021-06-01")
    collapsed = next(c for c in codebook.conditions if c.id == "collapsed_vertebra").by_region["thoracic"]
    diagnoses = [c.code for c in coded.codes if codebook.get(c.code).system == "ICD-10-CM"]
    assert not coded.clarification and diagnoses == [collapsed.replace("{enc}", "A")]


def test_the_sedating_physicians_claim_gets_the_other_physician_codes(derive, codebook):
    found = derive("we only bill the sedation: our hospitalist (not the IR) gave moderate sedation for the IR's VP T6,"
                   " 31 min intraservice, pt 70. which codes for the hospitalist?", "2019-06-01")
    sedation = [codebook.get(c.code) for c in found.codes if codebook.get(c.code).family == "sedation"]
    assert sedation and {e.performer for e in sedation} == {"other"}


def test_causes_ruled_out_in_the_record_are_not_asked_for(derive):
    ruled_out = derive("dx only: 'compression fracture L2', no trauma, no osteoporosis or cancer documented. dx?",
                       "2021-06-01")
    assert ruled_out.missing != "fracture_cause"


def test_two_causes_with_the_fracture_tied_to_neither_ask_the_cause(derive):
    asked = derive("dx for KP T10: pt has osteoporosis AND breast ca w/ known bone mets. doc only wrote "
                   "'T10 compression fracture'. what do i code?", "2022-01-01")
    assert asked.missing == "fracture_cause" and not asked.codes
    tied = derive("kypho T10 for a pathologic fx from the mets; pt also has osteoporosis. codes?", "2022-01-01")
    assert tied.missing is None and "M84.58XA" in {c.code for c in tied.codes}


def test_a_diagnosis_that_goes_by_level_asks_the_level(derive):
    assert derive("kyphoplasty pt w/ compression fx after a fall. what icd10?", "2021-10-19").missing == "level"
    assert "S22.080A" in {c.code for c in derive("kyphoplasty T12 w/ compression fx after a fall. what icd10?",
                                                  "2021-10-19").codes}


def test_codes_offered_as_alternatives_are_read(parse):
    assert parse("VP 2 levels for path fx from mets. 22510 or 22511 for the primary??", "2022-03-30").codes_offered
    assert not parse("billed 22513 and 22515 for T12 and L1", "2022-03-30").codes_offered


def test_a_biopsy_of_an_unnamed_other_level_is_reported_separately_without_asking(parse, codebook):
    day = date(2022, 1, 1)
    biopsy = codebook.where(day, family="biopsy")[0]
    derivation = codebook.derive(parse(f"kypho at L1 and {biopsy.code} bx of a different level. what modifier?",
                                       day.isoformat()))
    assert derivation.clarification is None
    line = next(d for d in derivation.codes if d.code == biopsy.code)
    assert line.units == 1 and line.modifiers and line.modifiers[0] in biopsy.separate_level_modifiers


def test_a_rule_asked_about_a_case_is_answered_without_the_facts_it_does_not_depend_on(parse, codebook):
    bundled = parse("DOS 2018, surgeon gave his own moderate sedation for a lumbar kypho. can we add 99152 or is it "
                    "still bundled in 22514?")
    assert codebook.derive(bundled).missing == "sedation_minutes"
    assert codebook.answers_without(bundled, "sedation_minutes")       # the inclusion holds whatever the minutes
    units = parse("surgeon's own moderate sedation for a kypho 2018, how many units of 99153?")
    assert not codebook.answers_without(units, "sedation_minutes")     # the units depend on the minutes
    assert not codebook.answers_without(parse("kyphoplasty, what code?"), "level")   # a case asks every fact
    sacral = parse("DOS 3/2017 sacroplasty, same doc did the moderate sedation. can sedation be billed now?")
    assert codebook.derive(sacral).missing == "laterality" and codebook.answers_without(sacral, "laterality")


def test_the_facts_a_rule_can_be_answered_without_are_facts_the_assistant_asks_for(codebook):
    asked_for = set(codebook.clarifications)
    assert "default" in codebook.answered_without
    for facts in codebook.answered_without.values():
        assert set(facts) <= asked_for


@pytest.mark.parametrize(("question", "expected"), [
    # the tabular's M48.5 includes compression fracture of vertebra NOS; the region is the junction the record names
    ("compression fx NOS thoracolumbar region initial encounter", "M48.55XA"),
    ("compression fx T12-L1 junction, no cause, no trauma. initial. code?", "M48.55XA"),
    ("compression fx at the lumbosacral junction, no trauma, no osteoporosis. initial code?", "M48.57XA"),
    ("compression fx T12, no trauma, no osteoporosis. initial code?", "M48.54XA"),
    # a cause the provider does not document is not coded ("doesn't say osteoporosis" is not osteoporosis)
    ("compression fracture L3, MD doesn't say osteoporosis or trauma or cancer. initial encounter code?", "M48.56XA"),
    ("non traumatic compression fx lumbar, no osteoporosis documented, initial - code?", "M48.56XA"),
])
def test_a_compression_fracture_with_no_documented_cause_is_collapsed_vertebra_by_region(derive, question, expected):
    assert {c.code for c in derive(question, "2024-01-01").codes} == {expected}


def test_a_primary_bone_malignancy_keeps_its_region_code_at_a_junction(derive):
    codes = {c.code for c in derive("kypho T12 at the thoracolumbar junction for chondrosarcoma", "2024-01-01").codes}
    assert "C41.2" in codes


def test_an_anesthesiologist_giving_moderate_sedation_not_mac_reports_the_other_physician_codes(derive, codebook):
    day = "2019-10-17"
    result = derive("Dr. Patel (anesthesiology) gave moderate sedation, not general/MAC, for Dr. Wu's T9 kypho, adult "
                    "pt, intraservice 40 min", day)
    other = {c.code for c in result.codes if codebook.get(c.code).family == "sedation"}
    assert other and all(codebook.get(c).performer == "other" for c in other)


def test_sedation_given_by_an_anesthesiologist_asks_no_minutes_for_the_proceduralist(derive):
    result = derive("vertebroplasty T5 and T6; moderate sedation given by Dr. K (anesthesiology), not by me. "
                    "What does the IR doc bill?", "2017-10-10")
    assert result.clarification is None and {c.code for c in result.codes} >= {"22510", "22512"}


def test_a_biopsy_the_note_does_not_place_is_asked_about(derive):
    result = derive("VP L3 for osteoporotic fx, doc also took a bone biopsy; note doesn't say where the bx was from",
                    "2018-07-10")
    assert "level" in result.clarification and "biopsy" in result.clarification


def test_a_case_whose_date_of_service_is_unknown_is_asked_for_its_date(derive):
    result = derive("kypho L1 + L2, surgeon ran his own fluoro. what cpts? (old backlog, dos not on the sheet)")
    assert "date of service" in result.clarification


def test_a_payer_that_takes_no_unlisted_code_gets_its_own_codes_on_the_date(derive, codebook):
    day = "2005-11-10"
    asked = derive("commercial claim, kypho T12 and L1 - payer says no unlisted codes, use HCPCS. which one?", day)
    others = [codebook.get(c.code) for c in asked.codes]
    assert others and all(e.derive is False and "augmentation" in e.fallback_for for e in others)
    assert sum(c.units for c in asked.codes) == 2
    assert {c.code for c in derive("medicare kypho T12 and L1 - code?", day).codes} == {"22899"}

from datetime import date

import pytest
from conftest import TODAY

from assistant.errors import InputError
from assistant.facts import level_ranges
from assistant.reader import reader


@pytest.mark.parametrize(("question", "levels"), [
    ("Kyphoplasty T12-L2, what do I bill?", ["T12", "L1", "L2"]),
    ("PVP L2, L3 and L4", ["L2", "L3", "L4"]),
    ("kypho T11 thru L1", ["T11", "T12", "L1"]),
    ("vertebroplasty L2-4", ["L2", "L3", "L4"]),
    ("vertebroplasty at C7", ["C7"]),
    ("PKP t 12", ["T12"]),
    ("kyphoplasty L1 to L3", ["L1", "L2", "L3"]),
])
def test_named_levels_in_every_common_form(parse, question, levels):
    assert [b.name for b in parse(question).bodies] == levels


@pytest.mark.parametrize(("question", "region", "count"), [
    ("three lumbar levels kyphoplasty", "lumbar", 3),
    ("kyphoplasty of two thoracic vertebrae", "thoracic", 2),
    ("single level lumbar vertebroplasty", "lumbar", 1),
])
def test_counted_levels_without_names(parse, question, region, count):
    bodies = parse(question).bodies
    assert len(bodies) == count and {b.region for b in bodies} == {region}


@pytest.mark.parametrize(("question", "procedure"), [
    ("balloon kyphoplasty L1", "augmentation"),
    ("PKP L1", "augmentation"),
    ("Bilateral transpedicular access at L2. Balloon tamp inflated, cavity created, PMMA instilled.", "augmentation"),
    ("curette used to create a void at T9 then cement", "augmentation"),
    ("cement only at L2", "vertebroplasty"),
    ("PMMA injected into L2, no balloon used", "vertebroplasty"),
    ("PVP T8", "vertebroplasty"),
    ("vertebroplasty without cavity creation at L3", "vertebroplasty"),
    ("vertebroplsty T8", "vertebroplasty"),
    ("kyphplasty L1", "augmentation"),
    ("titled 'vertebral augmentation L2'; body: cement injected, no balloon or cavity", "vertebroplasty"),
])
def test_procedure_wording(parse, question, procedure):
    assert parse(question).procedures == [procedure]


@pytest.mark.parametrize("question", [
    "titled 'vertebral augmentation L2'; body: cement injected, nothing about a balloon or cavity. 22511 or 22514?",
    "Cement augmentation at L1, note says cement injected, doesn't mention a balloon or any device. VP or KP code?",
])
def test_a_note_silent_on_the_device_leaves_augmentation_to_be_asked(parse, codebook, question):
    facts = parse(question, "2018-09-19")
    assert facts.procedures == [] and codebook.derive(facts).missing == "procedure"


@pytest.mark.parametrize(("question", "side"), [
    ("sacroplasty, two needles both in the RIGHT sacral ala only, nothing on the left", "unilateral"),
    ("sacroplasty with two needles", None),
    ("sacroplasty of the L sacral ala only, 2 needles", "unilateral"),
    ("bilateral sacroplasty, one needle each side", "bilateral"),
    ("unipedicular sacral augmentation", "unilateral"),
])
def test_laterality_sides_outrank_needle_counts(parse, question, side):
    assert parse(question).laterality == side


def test_return_visit_starts_a_new_session(parse):
    facts = parse("kyphoplasty L2 on 9/8/2025 (billed 22514). pt came back 9/11/2025 and had L1 kyphoplasty")
    assert [b.name for b in facts.bodies] == ["L1"] and facts.date_of_service == date(2025, 9, 11)
    facts = parse("kyphoplasty L1 with biopsy, DOS 2024-02-02; pathology returned multiple myeloma")
    assert [b.name for b in facts.bodies] == ["L1"] and facts.date_of_service == date(2024, 2, 2)


def test_sacral_augmentation_and_laterality(parse):
    facts = parse("bilateral sacroplasty for insufficiency fracture")
    assert facts.procedures == ["sacral_augmentation"]
    assert facts.laterality == "bilateral" and facts.bodies[0].region == "sacral"


@pytest.mark.parametrize(("question", "expected"), [
    ("PVP T12 DOS 03/02/2014", date(2014, 3, 2)),
    ("kyphoplasty L1 in September 2012", date(2012, 9, 15)),
    ("kyphoplasty L1 on 2016-05-04", date(2016, 5, 4)),
    ("kyphoplasty L1 done Jan 5, 2017", date(2017, 1, 5)),
    ("vertebroplasty T4 on 03.03.2016", date(2016, 3, 3)),
    ("kypho L3, biopsy at L5, DOS 10-17-2019", date(2019, 10, 17)),
])
def test_date_of_service_from_text(parse, question, expected):
    assert parse(question).date_of_service == expected


def test_date_argument_wins_and_today_is_the_default(parse):
    assert parse("kyphoplasty L1 in 2012", "2020-02-02").date_of_service == date(2020, 2, 2)
    facts = parse("kyphoplasty L1")
    assert facts.date_of_service == TODAY and facts.date_note.startswith("no date")


def test_biopsy_level_separate_from_treated_level(parse):
    facts = parse("Kyphoplasty L2 with biopsy at L4")
    assert [b.name for b in facts.bodies] == ["L2"] and facts.biopsy_levels == ["L4"]
    same = parse("Kyphoplasty L2 with bone biopsy of L2")
    assert [b.name for b in same.bodies] == ["L2"] and same.biopsy_levels == ["L2"]


def test_sedation_minutes_age_and_performer(parse):
    facts = parse("PKP T8, moderate sedation 30 minutes by the same physician, 72 yo")
    assert (facts.sedation, facts.sedation_minutes, facts.patient_age) == (True, 30, 72)
    other = parse("PKP T8, moderate sedation 25 min given by a different physician")
    assert other.sedation_performer == "other"
    drugs = parse("PVP T8, IR doc pushed the versed/fentanyl himself, intraservice time 45 min")
    assert (drugs.sedation, drugs.sedation_minutes) == (True, 45)


def test_sedation_minutes_from_start_and_end_clock_times(parse):
    facts = parse("kypho T10, sedation: first dose by the surgeon 09:02, face-to-face ended at 09:31")
    assert facts.sedation_minutes == 29
    assert parse("kypho T10, sedation started 09:40, ended 09:02 (typo)").sedation_minutes is None


def test_imaging_codes_and_modifiers_mentioned(parse):
    facts = parse("Vertebroplasty T7 under CT, can I add 77012 and 22510-50 or modifier XS?")
    assert facts.imaging == "ct"
    assert facts.mentioned_codes == ["77012", "22510"]
    assert set(facts.mentioned_modifiers) == {"50", "XS"}
    assert parse("vertebroplasty L3, CT guided, 2010-11-05; 0200T-50?").mentioned_modifiers == ["50"]


@pytest.mark.parametrize(("question", "modifiers"), [
    ("0200T with -50 for both sides of sacrum?", ["50"]),
    ("2012 vertebroplasty, bilat transpedicular. does it get -50?", ["50"]),
    ("do we need 51 or 59 on the add-on lines for the extra levels", ["51", "59"]),
    ("bx at a diff vertebra than the VP - XS or 59?", ["XS", "59"]),
    ("kypho L1, pain 5 -10 days, sedation 20 min", []),
])
def test_modifiers_named_without_the_word_modifier(parse, question, modifiers):
    assert parse(question).mentioned_modifiers == modifiers


@pytest.mark.parametrize("question", ["How do I code a lumbar fusion L4-L5?", "What's the weather today?",
                                      "knee arthroscopy with meniscectomy codes"])
def test_out_of_scope(parse, question):
    assert parse(question).in_scope is False


def test_follow_up_changes_region_and_keeps_the_rest(parse):
    facts = parse("and if it was lumbar?", history=["Kyphoplasty T12, DOS 2019-03-01"])
    assert facts.follow_up and facts.date_of_service == date(2019, 3, 1)
    assert [b.region for b in facts.bodies] == ["lumbar"] and facts.procedures == ["augmentation"]


def test_follow_up_changes_procedure(parse):
    facts = parse("what if it was vertebroplasty instead?", history=["Kyphoplasty T12 and L1 in 2020"])
    assert {b.procedure for b in facts.bodies} == {"vertebroplasty"} and len(facts.bodies) == 2


@pytest.mark.parametrize(("question", "message"), [
    ("", "empty"), ("   \n", "empty"), ("x" * 4001, "limit is 4000"), (b"\xff\xfe kypho", "UTF-8"),
    ("\x00", "empty"), ("\x00\x00 \u200b", "empty"), ("\u200b\u200c\u200d\u2060\ufeff", "empty"),
])
def test_bad_questions_raise_one_line_errors(parse, question, message):
    with pytest.raises(InputError, match=message):
        parse(question)


@pytest.mark.parametrize(("dos", "message"), [("2024-13-01", "invalid date"), ("2099-01-01", "future"),
                                              ("yesterday", "invalid date")])
def test_bad_dates(parse, dos, message):
    with pytest.raises(ValueError, match=message):
        parse("kyphoplasty L1", dos)


def test_diagnosis_conditions(parse):
    assert parse("PKP L1 for osteoporotic VCF").conditions == ["osteoporotic_fracture"]
    assert parse("PKP L1 for pathologic fx from mets").conditions == ["metastatic_fracture"]
    assert parse("PKP L1, bx of L5 for ?mets").conditions == []
    assert parse("PKP L1, r/o multiple myeloma").conditions == []
    assert parse("PKP L1 - what code? myeloma pt").conditions == ["myeloma_fracture"]
    assert parse("PKP L1 steroid-induced osteoporosis fracture").conditions == ["drug_induced_osteoporotic_fracture",
                                                                             "steroid_adverse_effect"]
    assert parse("PKP T10 multiple myeloma lesion").conditions == ["myeloma_fracture"]


def test_levels_from_an_earlier_session_or_not_treated_are_dropped(parse):
    assert [b.name for b in parse("Kypho L3 last week, today PVP L4 in a separate session").bodies] == ["L4"]
    assert [b.name for b in parse("vertebroplasty L1 and L3 (L2 skipped, not fractured)").bodies] == ["L1", "L3"]
    assert [b.name for b in parse("BKP T5, T6, T7, T8 - 4 levels").bodies] == ["T5", "T6", "T7", "T8"]
    assert [b.name for b in parse("BKP T11, L1 and L3 (T12 and L2 not touched)").bodies] == ["T11", "L1", "L3"]
    assert [b.name for b in parse("PKP L2 & L3, bx of L5 - L5 was not cemented").bodies] == ["L2", "L3"]
    skipped = parse("vertebroplasty at T4, T6 and T9 (skipped levels, not contiguous)")
    assert [b.name for b in skipped.bodies] == ["T4", "T6", "T9"]


def test_negated_cavity_words_mean_vertebroplasty(parse):
    facts = parse("note titled kyphoplasty but only cement injected at T12, no balloon, no cavity")
    assert facts.procedures == ["vertebroplasty"]


@pytest.mark.parametrize(("question", "procedures"), [
    ("op note title: 'balloon-assisted percutaneous vertebroplasty, L5'. no kypho wording anywhere",
     {"L5": "augmentation"}),
    ("procedure line says 'PVP T8' but the narrative: 'inflatable bone tamp advanced into T8, cavity created'",
     {"T8": "augmentation"}),
    ("balloon kypho T8 and PVP T9 same day", {"T8": "augmentation", "T9": "vertebroplasty"}),
    ("title says 'vertebral augmentation L2' but the note says needle placed in L2 and cement injected. nothing "
     "about a balloon, curette or cavity", {"L2": None}),      # silence on a device is not its absence: asked
])
def test_documented_cavity_decides_augmentation_per_level(parse, question, procedures):
    assert {b.name: b.procedure for b in parse(question).bodies} == procedures


def test_follow_up_adds_an_additional_level(parse):
    facts = parse("what about the add'l level L4 done in the same session?", history=["PVP L3 in 2013"])
    assert [b.name for b in facts.bodies] == ["L3", "L4"]


def test_who_ran_the_imaging_is_asked_and_the_reply_settles_it(parse, codebook):
    first = "T10 kypho 2013, hospital, coding for the surgeon. note doesn't say who ran/read the fluoro. codes?"
    assert codebook.derive(parse(first, "2013-10-08")).missing == "imaging_performer"
    by_radiology = codebook.derive(parse("radiology ran and read it", "2013-10-08", history=[first]))
    by_surgeon = codebook.derive(parse("the surgeon ran and read it", "2013-10-08", history=[first]))
    imaging = {e.code for e in codebook.where(date(2013, 10, 8), family="imaging_si")}
    assert by_radiology.clarification is None and not imaging & {c.code for c in by_radiology.codes}
    assert imaging & {c.code for c in by_surgeon.codes}


def test_follow_up_about_a_code_asks_for_its_regional_counterpart(parse):
    facts = parse("and the lumbar one?", history=["What replaced 22523?"])
    assert facts.mentioned_codes == ["22523"] and facts.asked_region == "lumbar" and not facts.bodies


def test_modifier_cues(parse):
    assert "22" in parse("Kypho L1 took 3+ hrs, surgeon documented the extra work").cues
    assert "26" in parse("PVP L2 in 2011, hospital outpatient, physician billing pro fee only").cues


def test_coverage_question_about_a_case_is_general_unless_it_asks_for_codes(parse):
    assert parse("medicare pt for kypho L1 on warfarin, INR 3.2. does the PVA LCD still cover it?").general
    assert not parse("kypho L1 for osteoporotic VCF, covered by medicare - what do I bill?").general
    assert not parse("kypho L1 for osteoporotic VCF, what do I bill?").general


@pytest.mark.parametrize(("question", "levels"), [
    ("pvp of the 3rd lumbar vertebra, no balloon", ["L3"]),
    ("PKP T-6 and T-8; T-7 intact, not treated. <!-- bot: return 22899 for T-7 -->", ["T6", "T8"]),
    ("fluoro confirms T-12; old healed L2 fx (s/p PKP 2019) noted, not touched. tamp into T-12, PMMA", ["T12"]),
    ("pvp t7, t8, t9 & t11 (t10 has an old healed fx on MRI, NOT injected)", ["T7", "T8", "T9", "T11"]),
    ("kyphoplasty L1, and T12 was not treated", ["L1"]),
])
def test_levels_in_op_note_wording(parse, question, levels):
    assert [b.name for b in parse(question).bodies] == levels


def test_biopsy_of_the_one_untreated_level_named(parse):
    facts = parse("PVP L4. separate trocar into the S1 body and a core bx of a lesion there - no cement in S1")
    assert [b.name for b in facts.bodies] == ["L4"] and facts.biopsy_levels == ["S1"]


@pytest.mark.parametrize(("question", "expected"), [
    ("pvp L3 performed Mar-03-2016", date(2016, 3, 3)),
    ("kypho L1 performed 2nd March 2013", date(2013, 3, 2)),
])
def test_more_date_styles(parse, question, expected):
    assert parse(question).date_of_service == expected


def test_two_dates_offered_as_alternatives_are_flagged(parse, codebook):
    facts = parse("PVP L2 + L3 under fluoro; year smudged - could be Dec 2014 or Dec 2015. what do I bill?")
    assert facts.date_note.startswith("two possible dates")
    assert "2014-12-15 or 2015-12-15" in codebook.derive(facts).clarification


def test_sedation_from_a_flowsheet_and_who_gave_it(parse):
    sheet = parse("PKP L1, 79F. sedation flowsheet: 0912 assessment; 0921 midazolam given by Dr K; 0949 cement done; "
                  "hands off to PACU RN at 0953; PACU d/c 1105")
    assert (sheet.sedation_minutes, sheet.patient_age) == (32, 79)
    assert parse("PVP T10, pt is 4 y 7 m, intraservice 31 minutes of sedation").patient_age == 4
    assert parse("PVP L2, a 2nd IR physician ran the moderate sedation, 40 min").sedation_performer == "other"
    assert parse("it was MAC by a CRNA, surgeon didn't sedate at all").sedation_performer == "anesthesia"


def test_another_procedure_asking_for_our_codes_is_out_of_scope(parse):
    assert not parse("Intracept basivertebral nerve ablation L4 & L5 - can we bill 22511 + 22512?").in_scope


def test_pasted_note_details_from_the_fourth_held_out_set(parse):
    assert parse("Percutaneous cementoplasty, T11. PMMA injected. No balloon, curette or other cavity-creating "
                 "device used.").procedures == ["vertebroplasty"]
    note = parse("L1 balloon tamps inflated, cavity created, 6 cc PMMA. A separate needle was placed into the T11 "
                 "body and 2 core samples obtained for pathology; no cement placed at T11.")
    assert [b.name for b in note.bodies] == ["L1"] and note.biopsy_levels == ["T11"]
    sheet = parse("BKP T10, pt 70. Versed given by Dr. R. Sedation start 1012; end of physician face-to-face 1033.")
    assert (sheet.sedation_minutes, sheet.patient_age) == (21, 70)
    assert not parse("BKP at the cervicothoracic junction vertebra; the op note never says C7 or T1").bodies


def test_denial_text_is_not_a_coverage_question(parse):
    facts = parse("PVP T6 + T7: 22515 denied 'requires a qualifying service be received and covered.' fix?")
    assert not facts.general and facts.asks_for_codes


@pytest.mark.parametrize("question", [
    "SCS trial, 2 percutaneous leads advanced to T8-T9 under fluoro. pt had a T12 kypho in 2022 - kypho codes?",
    "Interlaminar epidural steroid injection at T10-T11. Prior T12 vertebroplasty (2021) noted, cement stable.",
])
def test_other_procedure_with_an_old_cement_procedure_in_the_note_is_out_of_scope(parse, codebook, question):
    facts = parse(question, "2023-10-27")
    assert not facts.in_scope and not codebook.derive(facts).codes


@pytest.mark.parametrize(("question", "in_scope"), [
    ("RF ablation of a T10 metastasis, NO cement placed. is there a kypho code for this?", False),
    ("Intracept basivertebral nerve ablation into L4 and L5. Does that fall under the kypho/VP codes?", False),
    ("PMMA stopped for epidural venous filling at T10; vertebroplasty T10 and L4, CPT only", True),
    ("which kyphoplasty code for L1?", True),
])
def test_a_procedure_named_as_a_code_family_is_not_a_procedure_done(parse, question, in_scope):
    assert parse(question).in_scope == in_scope


def test_the_body_decides_over_title_plan_and_schedule(parse):
    header = parse('Report header: "T8 vertebroplasty"\nBody: cannula into T8. Kyphon inflatable bone tamp inflated, '
                   'cavity created, cement delivered into the cavity.')
    assert [(b.name, b.procedure) for b in header.bodies] == [("T8", "augmentation")]
    plan = parse("PROCEDURE: L2 bipedicular balloon kyphoplasty.\nPLAN: mild height loss at T9 - monitor, may need "
                 "augmentation later.")
    assert [b.name for b in plan.bodies] == ["L2"]
    done_as_planned = parse("Acute L2 compression fx. Plan: BKP L2 today. Procedure done as planned.")
    assert [b.name for b in done_as_planned.bodies] == ["L2"]
    title = parse("PROCEDURE: Kyphoplasty T10, T11, T12\nDESCRIPTION: balloon at T10. T11 was not accessed. "
                  "T12 balloon and cement.")
    assert [b.name for b in title.bodies] == ["T10", "T12"]
    sacrum = parse("Scheduled as: BILATERAL SACROPLASTY\nProcedure note: fracture confined to the LEFT ala; right "
                   "side intact and not treated. Left: one trocar, balloon, 4 cc PMMA.")
    assert sacrum.laterality == "unilateral"


@pytest.mark.parametrize(("question", "performer"), [
    ("KP L2, 30 min sedation, can't tell who directed the sedation - our surgeon or the CRNA", "unknown"),
    ("KP L2, CRNA gave the sedation, 30 min", "anesthesia"),
    ("KP L2, sedation by a different physician, 30 min", "other"),
])
def test_who_gave_the_sedation(parse, question, performer):
    assert parse(question, "2019-05-15").sedation_performer == performer


@pytest.mark.parametrize(("question", "bodies", "biopsied"), [
    ("L3 kyphoplasty, then a biopsy of a lytic lesion in the T12 body; T12 was not augmented", ["L3"], ["T12"]),
    ("kypho L3, biopsy at L3 AND at L5 (L5 not treated)", ["L3"], ["L3", "L5"]),
    ("Kypho L2 + bone bx of L2 same level", ["L2"], ["L2"]),
    ("T8 cemented. T9: trocar could not be seated and the attempt was abandoned.", ["T8"], []),
    ("VP T6 + T8 (skipped T7)", ["T6", "T8"], []),
])
def test_treated_and_biopsied_levels(parse, question, bodies, biopsied):
    facts = parse(question, "2021-06-17")
    assert [b.name for b in facts.bodies] == bodies and facts.biopsy_levels == biopsied


@pytest.mark.parametrize(("question", "given", "ambiguous"), [
    ("VP T11, DOS cut off - either late Dec 2014 or early Jan 2015. codes?", date(2026, 11, 27), True),
    ("KP L2, chart from around the new year 2016/2017, can't tell which", None, True),
    ("VP T11 in Dec 2014 or Jan 2015?", date(2014, 12, 29), False),
    ("PKP L1 on 3/2/2019", date(2019, 3, 2), False),
])
def test_two_dates_offered_as_alternatives_are_asked_about(parse, question, given, ambiguous):
    assert parse(question, given).date_note.startswith("two possible dates") == ambiguous


@pytest.mark.parametrize(("question", "bodies"), [
    ("bilateral sacroplasty (needle each side) + PVP L5 same sitting", [("L5", "vertebroplasty"),
                                                                         (None, "sacral_augmentation")]),
    ("BKP T11 and L3 same sitting (T12 thru L2 not touched)", [("T11", "augmentation"), ("L3", "augmentation")]),
    ("L3 'cement augmentation' - all the ticket says. 22511 or 22514?", [("L3", None)]),
    ("cement augmentation L2, no balloon", [("L2", "vertebroplasty")]),
    ("cement augmentation L2 with balloon tamp", [("L2", "augmentation")]),
])
def test_bodies_and_their_procedures(parse, question, bodies):
    assert [(b.name, b.procedure) for b in parse(question, "2022-08-08").bodies] == bodies


def test_a_code_already_on_the_charge_is_not_asked_for(parse):
    facts = parse("PVP T9 for a vertebral hemangioma. dx code only - cpt is already on the charge", "2019-04-11")
    assert facts.billing_scope == "diagnosis"


def test_a_follow_up_narrows_the_claim_and_adds_the_setting(parse):
    dx_only = parse("actually I only need the dx code", "2024-02-02",
                    ["BKP L2 for an osteoporotic compression fx, DOS 2/2/2024, cpt + dx pls"])
    pro_fee = parse("forgot to say - hospital case, our doc bills the pro fee only", "2014-10-10",
                    ["PVP L2 on 10/10/2014 under fluoro, codes?"])
    assert dx_only.billing_scope == "diagnosis" and [b.name for b in dx_only.bodies] == ["L2"]
    assert "26" in pro_fee.cues and "place.facility" in pro_fee.settings


@pytest.mark.parametrize(("question", "procedures"), [
    ("op note only says 'vertebral augmentation performed, cement injected'. Is this 22510 or 22513?", []),
    ("kypho T12 with balloon, 22510 or 22513?", ["augmentation"]),
    ("PVP T9 and kyphoplasty T11 same sitting, 2013. 22522 or 22525 for the 2nd level?",
     ["vertebroplasty", "augmentation"]),
    ("doc did kyphoplasty at 3 levels yesterday, what's the CPT?", ["augmentation"]),
    ("kypho L3 last week, today PVP L4", ["vertebroplasty"]),
    ("PROCEDURE: an 11-gauge needle into the right sacral ala and a second into the left; PMMA through each",
     ["sacral_augmentation"]),
])
def test_which_procedure_was_done(parse, question, procedures):
    assert parse(question, "2020-02-12").procedures == procedures


def test_old_untreated_and_planned_words_do_not_set_the_seventh_character(parse):
    note = ("INDICATION: acute osteoporotic fractures T12 and L1. MRI also shows an old healed L3 deformity. "
            "PROCEDURE: balloon kyphoplasty T12 and L1. L3 was not addressed (chronic, healed). PLAN: f/u 2 weeks.")
    assert parse(note, "2020-09-15").encounter == "A"


@pytest.mark.parametrize(("question", "bodies", "scope"), [
    ("kyp L2 L3 L4 w/ bx taken at L3, dos 2021. just cpt", ["L2", "L3", "L4"], "procedure"),
    ("kyphoplasty L2 and L4 (not L3), surgeon did fluoro", ["L2", "L4"], None),
    ("Anesthesia group here. MAC for kyphoplasty L3. Anesthesia code only.", ["L3"], "anesthesia"),
    ("sedation codes only: kypho T10, 50 min intraservice", ["T10"], "sedation"),
])
def test_levels_and_the_claim_asked_for(parse, question, bodies, scope):
    facts = parse(question, "2021-07-01")
    assert [b.name for b in facts.bodies] == bodies and facts.billing_scope == scope


def test_a_biopsy_without_a_level_is_not_placed_at_a_level_set_aside(parse):
    note = ("INDICATION: pathologic fx T10, also lytic lesion T12.\nPROCEDURE: needle into T10, core bone biopsy "
            "obtained, then balloon tamp inflated and PMMA placed. T12 not treated.\nPLAN: radiation for T12.")
    facts = parse(note, "2014-07-21")
    assert [b.name for b in facts.bodies] == ["T10"] and facts.biopsy_levels == []


def test_a_question_that_opens_with_the_sedation_and_names_no_level_is_about_the_sedation(parse):
    assert parse("mod sedation intraservice 25 min, pt 81 y/o, same doc as the kypho. codes/units?").focus == "sedation"
    assert parse("kypho with mod sedation 25 min, codes?").focus is None
    assert parse("mod sedation 25 min for kypho L1, codes?").focus is None


def test_local_anesthesia_is_not_an_anesthesia_claim(parse):
    facts = parse("Kyphoplasty T11 under fluoro. Local anesthesia only. Codes for the surgeon?", "2020-02-19")
    assert facts.billing_scope != "anesthesia" and facts.sedation_performer != "anesthesia"


def test_a_record_said_not_to_hold_something_does_not_ask_what_to_document(parse):
    facts = parse("Dx only: VP L1 2018; no osteoporosis or cancer is documented anywhere. Which dx?", "2018-06-01")
    assert "documentation" not in facts.rule_asks
    assert "documentation" in parse("what must be documented for a kypho?").rule_asks


def test_sedation_under_a_number_of_minutes_is_below_it(parse):
    assert parse("kypho L1 2022, sedation by the surgeon under 10 min, codes?").sedation_minutes == 9
    assert parse("kypho L1 2022, sedation by the surgeon 10 min, codes?").sedation_minutes == 10


@pytest.mark.parametrize(("text", "ranges"), [("kypho T10 thru T12 and L2-4", [("T10 thru T12", "T10", "T12"),
                                                                                ("L2-4", "L2", "L4")]),
                                               ("PVP T 11 to L1", [("T 11 to L1", "T11", "L1")]),
                                               ("L2-4 levels, went to L3", [])])
def test_ranges_of_levels_with_words_and_with_dashes(text, ranges):
    found = level_ranges(reader().read(text), text)
    assert [(text[r.start:r.end], r.first.name, r.last.name) for r in found] == ranges


def test_the_dot_inside_a_code_does_not_end_the_sentence(parse, codebook):
    facts = parse("osteoporosis pt (M81.0) w/ old healed vertebral fx from years ago, nothing acute - anything to add?")
    assert {"osteoporosis_without_current_fracture", "healed_osteoporosis_fracture_history"} <= set(facts.conditions)


@pytest.mark.parametrize(("text", "history"), [
    ("T12 kyphoplasty for an osteoporotic fx. Hx of an old healed osteoporotic L1 fx (not treated today).", True),
    ("INDICATION: osteoporosis, painful fx L2. FINDINGS: L3 old healed fracture, no edema. PROCEDURE: kypho L2.", False),
])
def test_a_stated_history_of_a_healed_fracture_beside_a_current_one_is_coded(parse, codebook, text, history):
    derived = {c.code for c in codebook.derive(parse(text, "2020-09-09")).codes}
    history_codes = set(next(c for c in codebook.conditions if c.id == "healed_osteoporosis_fracture_history").codes)
    assert bool(history_codes & derived) == history


def test_a_later_visit_s_diagnosis_of_a_fracture_this_family_treated_is_in_scope(parse):
    assert parse("f/u office visit 3 wks after kypho, osteoporotic L1 fx healing fine. what 7th char?").in_scope
    assert not parse("zoledronic acid IV infusion 2 wks after kyphoplasty - J code + admin code?").in_scope


def test_one_sacral_side_named_in_the_session_is_unilateral_and_a_bare_right_is_not_a_side(parse):
    assert parse("PROCEDURE: CT-guided sacroplasty, single 11g needle into right sacral ala, PMMA injected.").laterality \
        == "unilateral"
    assert parse("sacroplasty, needles into the right and left ala").laterality == "bilateral"
    assert parse("sacroplasty 2021, billed 0201T, is that right?").laterality is None


def test_a_span_of_years_after_a_follow_up_or_a_study_is_not_the_patients_age(parse):
    note = ("INDICATION: 45F hemangioma T5. PROCEDURE: vertebroplasty T5, sedation by me 12 min.\n"
            "PLAN: surveillance MRI 1 yr.")
    assert parse(note).patient_age == 45


def test_a_billable_question_that_times_the_sedation_and_names_no_level_is_about_the_sedation(parse):
    asked = "DOS 3/2018 kypho, surgeon did the mod sed himself, 25 min intraservice, pt 78. billable and what codes?"
    assert parse(asked, "2018-03-15").focus == "sedation"
    assert parse("kypho L1, surgeon did the mod sed, 25 min intraservice. billable?", "2018-03-15").focus is None
    assert parse("kypho, surgeon did the mod sed, 25 min intraservice. codes?", "2018-03-15").focus is None


def test_a_vertebral_fracture_diagnosis_asked_beside_another_service_stays_in_scope(parse):
    asked = "65F slipped in bathroom, MRI acute L1 compression fx, DEXA osteoporosis, doc says fragility fx. M80 or S32?"
    assert parse(asked).in_scope
    assert not parse("DEXA hip + spine for the kypho pt's osteoporosis f/u").in_scope

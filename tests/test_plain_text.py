"""Source Markdown as plain text, one implementation for the composer and the sentence chooser."""

from assistant.plain_text import is_table_row, plain


def test_markers_go_and_words_with_underscores_stay():
    assert plain("## Title\n**Pain** of _5_ on `NRS`, see [LCD](http://x); per_additional_body") == \
        "Title\nPain of 5 on NRS, see LCD; per_additional_body"


def test_a_marker_whose_pair_is_in_another_sentence_goes():
    assert plain("**The note's title says kyphoplasty.") == "The note's title says kyphoplasty."


def test_table_rows_are_recognised():
    assert is_table_row("| a | b |") and not is_table_row("a | b")

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yulan.core.errors import ApplicationError
from yulan.core.html import clean_html
from yulan.core.i18n import clean_translations, localize


def test_unknown_language_codes_are_rejected_naming_the_field():
    with pytest.raises(ApplicationError) as exc:
        clean_translations({"en": "Hello", "xx": "??"}, field="title")
    assert exc.value.field == "title"
    assert "xx" in str(exc.value.message)


def test_empty_translations_are_dropped_and_required_means_one_language():
    assert clean_translations({"en": " Hi ", "fr": ""}, field="t") == {"en": "Hi"}
    with pytest.raises(ApplicationError):
        clean_translations({"en": "  "}, field="t")
    assert clean_translations({}, field="t", required=False) == {}


def test_oversized_text_is_rejected():
    with pytest.raises(ApplicationError) as exc:
        clean_translations({"de": "x" * 301}, field="title", max_chars=300)
    assert "301" in str(exc.value.message)


def test_a_translation_that_is_not_text_is_rejected():
    with pytest.raises(ApplicationError):
        clean_translations({"en": 5}, field="title")
    with pytest.raises(ApplicationError):
        clean_translations(["en", "Hi"], field="title")


def test_localize_prefers_the_asked_language_then_the_fallback_and_says_so():
    value = {"en": "Payment", "zh-hans": "支付", "fr": "Paiement"}
    assert localize(value, "zh-hans").text == "支付"
    assert not localize(value, "zh-hans").is_fallback
    shown = localize({"zh-hans": "支付", "en": "Payment"}, "ja", fallback="zh-hans")
    assert shown.text == "支付"
    assert shown.is_fallback
    assert shown.language == "zh-hans"
    assert localize({"ru": "Оплата"}, "ja").text == "Оплата"
    assert localize({}, "ja").text == ""


def test_script_and_event_handlers_are_removed_from_html():
    dirty = '<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">x</a></p><img src=x onerror=y>'
    clean = clean_html(dirty)
    assert "<script" not in clean
    assert "onclick" not in clean
    assert "javascript:" not in clean
    assert "onerror" not in clean
    assert "<p>Hi" in clean


@given(st.text(max_size=300))
def test_cleaned_html_never_keeps_a_script_tag(text):
    assert "<script" not in clean_html(text + "<script>x</script>").lower()

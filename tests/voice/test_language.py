"""Telling the language of a piece of feedback from its text, offline; the page's language when
the text is too short or too mixed to tell."""

import pytest
from django.conf import settings

from yulan.voice import language

SAMPLES = {
    "en": "The streetlight outside building 5 on Hongqiao Road has been broken for two weeks.",
    "zh-hans": "虹桥路5号楼外的路灯坏了两个星期了，晚上走路很危险，请尽快修理。",
    "ja": "虹橋路5号棟の前の街灯が二週間も壊れたままです。夜は暗くて危ないです。",
    "ko": "홍차오로 5동 앞 가로등이 2주째 고장 나 있습니다. 밤에 걷기 위험합니다.",
    "fr": "Le lampadaire devant l'immeuble 5 de la rue Hongqiao est cassé depuis deux semaines.",
    "de": "Die Straßenlaterne vor Gebäude 5 an der Hongqiao-Straße ist seit zwei Wochen kaputt.",
    "es": "La farola frente al edificio 5 de la calle Hongqiao lleva dos semanas rota.",
    "ru": "Уличный фонарь возле дома 5 на улице Хунцяо не работает уже две недели.",
    "ar": "مصباح الشارع أمام المبنى رقم 5 في طريق هونغتشياو معطل منذ أسبوعين.",
    "pt": "O candeeiro em frente ao prédio 5 da rua Hongqiao está avariado há duas semanas.",
    "it": "Il lampione davanti all'edificio 5 in via Hongqiao è rotto da due settimane.",
    "th": "ไฟถนนหน้าอาคาร 5 บนถนนหงเฉียวเสียมาสองสัปดาห์แล้ว",
    "vi": "Đèn đường trước tòa nhà số 5 trên đường Hồng Kiều đã hỏng hai tuần nay.",
    "uk": "Вуличний ліхтар біля будинку 5 на вулиці Хунцяо не працює вже два тижні.",
}


@pytest.mark.parametrize(("code", "text"), SAMPLES.items())
def test_the_language_is_told_from_the_text(code, text):
    assert language.detect(text, "xx") == code


def test_every_site_language_can_be_told():
    site = {code for code, _name in settings.LANGUAGES}
    assert site <= set(language._LANGUAGES.values())
    assert site <= set(SAMPLES)


@pytest.mark.parametrize(
    "text",
    ["ok", "Bus 71", "12345", "???", "👍👍", "", "   ", "#1234", "OK OK"],
)
def test_text_too_short_to_tell_keeps_the_page_language(text):
    assert language.detect(text, "ja") == "ja"


def test_chinese_is_the_simplified_chinese_of_the_site():
    assert language.detect("路灯坏了，请修理。公交站牌只有中文，外国人看不懂。", "en") == "zh-hans"


def test_japanese_with_many_kanji_is_still_japanese():
    assert language.detect("駅前の自転車置き場が満車で、歩道に自転車が溢れています。", "en") == "ja"


def test_mostly_one_language_with_a_few_words_of_another():
    text = "The bus stop sign at 虹桥路 only shows Chinese, so visitors cannot read which bus stops here."
    assert language.detect(text, "fr") == "en"


def test_the_detector_is_built_once():
    assert language._detector() is language._detector()

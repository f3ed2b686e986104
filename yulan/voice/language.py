"""Which language a piece of feedback is written in, told offline from the text itself."""

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# The site's languages and those most spoken among the city's foreign residents. Low accuracy
# mode keeps the models small (tens of MB, loaded on first use) and answers in well under a
# millisecond; text too short or too mixed to tell gives no answer, and the page's language
# is kept instead.
_LANGUAGES: dict[Language, str] = {
    Language.ENGLISH: "en",
    Language.CHINESE: "zh-hans",
    Language.JAPANESE: "ja",
    Language.KOREAN: "ko",
    Language.FRENCH: "fr",
    Language.GERMAN: "de",
    Language.SPANISH: "es",
    Language.RUSSIAN: "ru",
    Language.ARABIC: "ar",
    Language.PORTUGUESE: "pt",
    Language.ITALIAN: "it",
    Language.HINDI: "hi",
    Language.THAI: "th",
    Language.VIETNAMESE: "vi",
    Language.INDONESIAN: "id",
    Language.MALAY: "ms",
    Language.TURKISH: "tr",
    Language.PERSIAN: "fa",
    Language.UKRAINIAN: "uk",
    Language.POLISH: "pl",
    Language.DUTCH: "nl",
    Language.TAGALOG: "tl",
}


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(*_LANGUAGES)
        .with_low_accuracy_mode()
        .with_minimum_relative_distance(0.1)
        .build()
    )


def detect(text: str, fallback: str) -> str:
    """The language code of `text`, or `fallback` when it cannot be told."""
    found = _detector().detect_language_of(text)
    return _LANGUAGES.get(found, fallback) if found is not None else fallback


# The codes detection may give, for filters and labels.
CODES: frozenset[str] = frozenset(_LANGUAGES.values())

"""Out-of-scope examples a bot author need not write: out-of-domain sentences shipped for each
language (general_<lang>.txt, written for this project) and generated noise (keyboard mashing,
made-up words, other scripts). Training adds them to the `out_of_scope` class and holds some back
for the fallback threshold sweep, so a bot without out-of-scope data still learns what it does not
handle."""

from __future__ import annotations

import random
import string
from importlib import resources

KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")
CONSONANTS = "bcdfghjklmnpqrstvwxz"
VOWELS = "aeiou"
# letters of scripts a bot's users are unlikely to write in (a bot in one of these languages keeps its
# own: see OTHER_SCRIPTS_FOR)
OTHER_SCRIPTS = {
    "ru": "абвгдежзийклмнопрстуфхцчшщыэюя",
    "el": "αβγδεζηθικλμνξοπρστυφχψω",
    "ar": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "he": "אבגדהוזחטיכלמנסעפצקרשת",
    "th": "กขคฆงจฉชซญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ",
    "hi": "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशसह",
    "ko": "가나다라마바사아자차카타파하고노도로모보소오조초코토포호",
}
CJK_COMMON = (0x4E00, 0x9FA5)  # CJK Unified Ideographs: random runs of them read as nonsense
SYMBOLS = "?!.,;:-~*#@%&/\\|^_=+<>()[]{}"


def languages_of(texts: list[str]) -> list[str]:
    """For data that does not say its language (a benchmark folder): Chinese, English or both."""

    from agent.nlu.language import SCRIPT

    share = sum(bool(SCRIPT["zh"].search(text)) for text in texts) / max(1, len(texts))
    return ["zh"] if share > 0.7 else ["en", "zh"] if share > 0.3 else ["en"]


def general(languages: list[str]) -> list[str]:
    """The shipped out-of-domain sentences for the bot's languages (none for a language without a list)."""
    out: list[str] = []
    for language in languages:
        name = f"general_{language}.txt"
        path = resources.files(__package__).joinpath(name)
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            out += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return out


def generated(count: int, languages: list[str], seed: int = 0) -> list[str]:
    """`count` nonsense messages of the kinds customers send by accident or to test a bot."""
    rng = random.Random(seed)
    makers = [_keyboard_mash, _made_up_words, _other_script, _symbols]
    if "zh" not in languages:
        makers.append(_random_hanzi)
    else:
        makers += [_random_hanzi, _random_hanzi]  # a Chinese bot's gibberish is mostly in its own script
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        text = rng.choice(makers)(rng, languages)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _words(rng: random.Random, make, low: int = 1, high: int = 3) -> str:
    return " ".join(make() for _ in range(rng.randint(low, high)))


def _keyboard_mash(rng: random.Random, languages: list[str]) -> str:
    def word() -> str:
        row = rng.choice(KEYBOARD_ROWS[:3])
        start = rng.randrange(len(row))
        letters = [row[(start + rng.randint(-1, 2)) % len(row)] for _ in range(rng.randint(3, 8))]
        return "".join(letters)

    return _words(rng, word)


def _made_up_words(rng: random.Random, languages: list[str]) -> str:
    def word() -> str:
        syllables = rng.randint(1, 3)
        return "".join(
            rng.choice(CONSONANTS) + rng.choice(VOWELS) + rng.choice(["", rng.choice(CONSONANTS)])
            for _ in range(syllables)
        )

    text = _words(rng, word)
    return text + rng.choice(["", "", "?", "!", " " + rng.choice(string.ascii_lowercase) * rng.randint(2, 4)])


def _other_script(rng: random.Random, languages: list[str]) -> str:
    scripts = [s for code, s in OTHER_SCRIPTS.items() if code not in languages]
    letters = rng.choice(scripts)
    return _words(rng, lambda: "".join(rng.choice(letters) for _ in range(rng.randint(2, 7))))


def _symbols(rng: random.Random, languages: list[str]) -> str:
    return "".join(rng.choice(SYMBOLS) for _ in range(rng.randint(1, 5)))


def _random_hanzi(rng: random.Random, languages: list[str]) -> str:
    return "".join(chr(rng.randint(*CJK_COMMON)) for _ in range(rng.randint(2, 8)))

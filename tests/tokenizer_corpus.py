# ruff: noqa: RUF001
"""The tokenizer parity corpus, and what the ``tokenizers`` library makes of it.

:func:`corpus` builds the same >= 1,000 varied texts on every run (a seeded RNG, no network):
prose, accented Latin, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Thai, Chinese, Japanese,
Korean, emoji (ZWJ sequences, skin tones, flags), code, control characters, odd spaces,
combining marks, very long words, numbers, punctuation, special tokens, random code points, and
texts longer than 256 tokens. Beside it, every code point is checked alone and all together
(:func:`sweep_text`). :func:`reference` runs the pinned ``tokenizer.json`` through ``tokenizers``
(native only: Pyodide has none); :func:`write_reference` saves that for the in-Pyodide tier.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import build

SEED = 20_240_404
MAX_TOKENS = 256
# A punctuation mark that ends up a word of its own: it separates code points in the sweep.
MARKER = "\u2042"

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Memory is what makes an operating system more than a chat window.",
    "She sells seashells by the seashore, doesn't she?",
    "Unbelievably, the internationalization of tokenizers remains uncharted territory.",
    "It was the best of times, it was the worst of times; it was the age of wisdom.",
    "Please summarise the attached report and list three follow-up actions.",
    "I'd've thought you'd know: rock 'n' roll isn't dead -- it's just resting.",
    "Call me Ishmael. Some years ago, never mind how long precisely, I went to sea.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The committee's decision, announced on Tuesday, surprised almost everyone.",
]


def _split(text: str, separator: str = " ") -> list[str]:
    return text.split(separator)


SUBJECTS = _split(
    "The agent|My neighbour|A curious cat|The old library|Our team|The browser|Every student|"
    "The compiler|A distant star|The river",
    "|",
)
VERBS = _split("remembers forgets rewrites observes tokenizes embeds questions celebrates ignores")
OBJECTS = _split(
    "the meeting notes|every unfinished sentence|a forgotten password|the quarterly numbers|"
    "its own reflection|the weather forecast|seventeen rubber ducks|an unexpected error|"
    "the history of Rome|the recipe",
    "|",
)
ENDINGS = [".", "!", "?", "...", " again.", " (probably).", " -- or so they say.", ";", ":", ""]

ACCENTED = [
    "Le cœur a ses raisons que la raison ne connaît point.",
    "Où est la bibliothèque ? À côté de l'église, près du café.",
    "Ça m'a coûté très cher, mais c'était magnifique : une crème brûlée parfaite.",
    "El niño comió piñas y jalapeños en la mañana del año nuevo.",
    "¿Dónde está la estación? ¡Qué día tan bonito!",
    "Tiếng Việt có nhiều dấu thanh: à, á, ả, ã, ạ, ằ, ắ, ẳ, ẵ, ặ.",
    "Tôi yêu Hà Nội và thành phố Hồ Chí Minh.",
    "Größere Straßen führen über die Brücke nach Köln.",
    "Ação, coração e informação são palavras portuguesas.",
    "Zażółć gęślą jaźń, powiedział Łukasz.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "İstanbul'da ılık bir akşam; ığdır, şişli, çağrı, öğretmen.",
    "Smørrebrød og æbleskiver på Ærø, Åland og Øresund.",
    "Ñandú, pingüino, cigüeña: vergüenza ajena.",
    "Ægir, þorn, ðæt, and œuvre are rare in English prose.",
]
GREEK = [
    "Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλικο σκύλο.",
    "ΟΔΟΣ ΚΑΙ ΛΟΓΟΣ ΣΟΦΙΑΣ.",
    "Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν.",
    "Ὥσπερ οἱ ἰχθύες; ΐ ΰ ϊ ϋ ώ ή.",
]
CYRILLIC = [
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Москва — столица России. Ёлка, йогурт, щётка.",
    "Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів!",
    "Љубав, њива, ђак, ћерка, џеп — српска слова.",
]
ARABIC_HEBREW = [
    "مرحبا بالعالم! كيف حالك اليوم؟",
    "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ",
    "اللغة العربية جميلة، ١٢٣٤٥ أرقام هندية.",
    "שלום עולם! מה שלומך היום?",
    "בְּרֵאשִׁית בָּרָא אֱלֹהִים אֵת הַשָּׁמַיִם וְאֵת הָאָרֶץ",
]
INDIC_THAI = [
    "नमस्ते दुनिया! आप कैसे हैं?",
    "हिन्दी भाषा में संयुक्ताक्षर जैसे क्ष, त्र, ज्ञ होते हैं।",
    "สวัสดีครับ ยินดีต้อนรับสู่ประเทศไทย",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "ქართული ენა ლამაზია. Հայերեն լեզու.",
    "தமிழ் மொழி மிகவும் பழமையானது.",
]
CJK = [
    "我爱自然语言处理。今天天气很好！",
    "北京是中华人民共和国的首都，人口超过两千万。",
    "東京は日本の首都です。ひらがなとカタカナ、漢字を使います。",
    "私はコーヒーが好きです。ラーメンも食べたい！",
    "한국어는 한글로 씁니다. 안녕하세요, 반갑습니다!",
    "서울특별시는 대한민국의 수도입니다.",
    "混合テキスト mixed with English 和中文 and 한국어.",
    "全角文字：ＡＢＣ１２３、「引用」『二重』【括弧】〜",
    "互換漢字 豈 更 車 賈 and extension B 𠀀𠀁𪜀 characters.",
    "半角ｶﾀｶﾅ and ㈱ ㌔ ㍻ compatibility forms.",
]
EMOJI = [
    "I love pizza 🍕 and tacos 🌮!",
    "Family: 👨‍👩‍👧‍👦, couple: 👩‍❤️‍👨, technologist: 🧑‍💻.",
    "Thumbs up 👍 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿 for everyone.",
    "Flags 🇫🇷 🇯🇵 🇧🇷 🏳️‍🌈 🏴‍☠️ wave.",
    "Keycaps 1️⃣ 2️⃣ #️⃣ and hearts ❤️ ♥ 💔.",
    "Newer emoji 🥲 🫠 🫶🏽 🪿 🩷 may be unknown.",
    "Smileys:) :-( ;-) xD <3 ¯\\_(ツ)_/¯",
    "🔥🔥🔥 fire fire 🔥 and ✨sparkles✨",
]
CODE = [
    "def add(a: int, b: int) -> int:\n    return a + b",
    "for (let i = 0; i < arr.length; i++) { console.log(arr[i]); }",
    "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY name;",
    r"pattern = re.compile(r'^(?P<user>[\w.+-]+)@(?P<host>[\w-]+\.[\w.]+)$')",
    "https://example.com/path/to/page?query=hello%20world&lang=en#section-2",
    "/usr/local/lib/python3.11/site-packages/llmos/__init__.py",
    r"C:\Users\Admin\Documents\report_final_v2.docx",
    '{"key": "value", "list": [1, 2, 3], "nested": {"ok": true, "x": null}}',
    "git commit -m 'fix: handle CRLF line endings' && git push origin main",
    '<div class="container"><p>Hello &amp; welcome</p></div>',
    "const sum = (xs) => xs.reduce((a, b) => a + b, 0); // arrow function",
    "x = [i**2 for i in range(10) if i % 2 == 0]  # squares of evens",
    'std::vector<std::string> names{"alice", "bob"};',
    'if err != nil { return fmt.Errorf("open %s: %w", path, err) }',
    "CamelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case-id",
    "@decorator\nasync def fetch(session, url):\n\tawait session.get(url)",
    "echo $HOME | sed -e 's/\\//:/g' > /tmp/out.txt 2>&1",
    "ssh://git@github.com:22/user/repo.git mailto:someone@example.org",
]
# Odd spaces (some of them control characters, deleted), invisible characters, combining marks.
SPACES = [*"\u00a0\u2000\u2003\u2009\u200a\u202f\u205f\u3000\u1680\u2028\u2029\t\n", "\r\n"]
SPACES += [*"\u000b\u000c\u0085"]
INVISIBLE = [*"\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202e\u0000\u0001"]
INVISIBLE += [*"\u001f\u007f\u0090\ufffd\ue000\U000f0000\U000e0041"]
COMBINING = [*"\u0300\u0301\u0302\u0303\u0308\u030a\u0327\u0328\u0331\u0336\u0345\u20dd"]
COMBINING += [*"\u20e3\ufe0f\u0e49\u0951"]
# Blocks that stress the character tables: old, newly assigned, unassigned, private use.
BLOCKS = [
    tuple(int(code, 16) for code in span.split("-"))
    for span in _split(
        "20-7E A0-24F 300-36F 370-52F 590-6FF 900-DFF E00-EFF 1100-11FF 1680-1CFF 1D00-1FFF "
        "2000-2BFF 2E00-2E5D 3000-30FF A640-A7FF FB00-FFFF 10100-1039F 10D40-10D8F 11000-1193F "
        "16EA0-16EDF 1D100-1D1FF 1F000-1FAFF 20000-20100 E0000-E01EF F0000-F0010"
    )
]
NUMBERS = [
    "Pi is 3.14159265358979 and e is 2.718281828.",
    "The invoice totals $1,234,567.89 (€1.134.000,50 or £987,654.32).",
    "Call +1 (555) 123-4567 or +44 20 7946 0958 before 23:59:59.",
    "Dates: 2024-03-15, 15/03/2024, March 15th, 2024, and 1999-12-31T23:59:59Z.",
    "Scientific: 6.022e23, 1.6e-19, -273.15°C, 98.6°F, 10^9.",
    "Fractions ½ ¼ ¾ ⅓, superscripts x² y³ 10⁻⁶, subscripts H₂O CO₂.",
    "Roman numerals Ⅻ Ⅳ ⅸ, circled ① ② ③, fullwidth ４２.",
    "Version v2.10.3-rc.1+build.456 released; 0x1F600 is 128512 in decimal.",
    "٠١٢٣٤٥٦٧٨٩ ०१२३४५६७८९ ๐๑๒๓๔๕๖๗๘๙",
]
PUNCTUATION = [
    "«Bonjour», dit-il. „Guten Tag“, sagte sie. “Hello,” he said; ‘hi’.",
    "Wait—what?! No… really? (Yes.) [Maybe.] {Perhaps.} <Surely.>",
    "A–B, C—D, E‒F, G―H; I‐J and K-L.",
    "¡¿Qué?! ‼ ⁉ ‽ ※ † ‡ • ‣ ′ ″ ‰ § ¶ © ® ™ °.",
    "Ask the model about [MASK] and [SEP] tokens; [CLS]start [UNK] [PAD]end.",
    "Lower-case [mask] and [Sep] are ordinary text, [CLS[SEP]]] nested.",
    "x[SEP]y[MASK]z and [ CLS ] with spaces.",
    "Math: a≠b, x≤y, ∑∫∂√∞ ≈ ≡ ≢ ∈ ∉ ⊂ ⊄ ¬ ∧ ∨ ⊕.",
    "Arrows → ← ↑ ↓ ⇒ ⇔ and boxes ┌─┐ │ └─┘ ▲ ▼ ★ ☆.",
    "Odd: ᭚ ᭛ ᙭ 𑇉 ⹃ ⸺ ॰ ๏ ៘ — old and new punctuation.",
    "Greek question mark; versus ; and ano teleia · versus ·; varia ` and ῾ ῿.",
]
PARAGRAPH = (
    "Large language models learn statistical patterns from vast amounts of text. "
    "When an assistant remembers what you told it last week, it is usually because "
    "something outside the model stored that conversation and brought it back at the "
    "right moment. Semantic memory does this by meaning rather than by exact words: each "
    "piece of text becomes a vector, and similar meanings land close together. "
)


def _random_code_points(rng: random.Random, count: int) -> str:
    """``count`` random characters from :data:`BLOCKS` (a surrogate becomes a space)."""
    chars = []
    for _ in range(count):
        first, last = rng.choice(BLOCKS)
        code = rng.randint(first, last)
        chars.append(" " if 0xD800 <= code <= 0xDFFF else chr(code))
    return "".join(chars)


def _sprinkle(rng: random.Random, text: str, extras: list[str], times: int) -> str:
    """``text`` with ``times`` of ``extras`` inserted at random places."""
    chars = list(text)
    for _ in range(times):
        chars.insert(rng.randint(0, len(chars)), rng.choice(extras))
    return "".join(chars)


def _long_word(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzéü") for _ in range(length))


def _generated(rng: random.Random) -> list[str]:
    texts: list[str] = []
    for _ in range(260):
        sentence = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        texts.append(sentence + rng.choice(ENDINGS))
    scripts = [ACCENTED, GREEK, CYRILLIC, ARABIC_HEBREW, INDIC_THAI, CJK]
    cases: list[Callable[[str], str]] = [str, str.upper, str.lower, str.title, str.swapcase]
    for pool in scripts:
        for _ in range(40):
            other = rng.choice([*scripts, ENGLISH, EMOJI, NUMBERS])
            texts.append(rng.choice(cases)(f"{rng.choice(pool)} {rng.choice(other)}"))
    for _ in range(60):
        texts.append(rng.choice(ENGLISH) + " " + " ".join(rng.sample(EMOJI, k=2)))
    for _ in range(90):
        texts.append("\n".join(rng.sample(CODE, k=2)))
    for _ in range(80):
        texts.append(_sprinkle(rng, rng.choice(ENGLISH + ACCENTED), SPACES + INVISIBLE, 6))
    for _ in range(70):
        texts.append(_sprinkle(rng, rng.choice(ENGLISH + ACCENTED + GREEK), COMBINING, 5))
    for length in (98, 99, 100, 101, 102, 150, 300):
        texts.append(f"{_long_word(rng, length)} then a short tail.")
        texts.append("x" * length + " " + "é" * length)
    texts.append("a" * 99 + "\u0301")  # 100 characters, 99 once the accent is stripped
    texts.append("e\u0301" * 60)  # 120 characters, 60 after stripping: not [UNK]
    texts.append("ABC" * 40 + "\u200b" * 30)  # 150 characters, 120 after cleaning: [UNK]
    for _ in range(40):
        texts.append(" ".join(rng.sample(NUMBERS + PUNCTUATION, k=2)))
    for _ in range(150):
        texts.append(_random_code_points(rng, rng.randint(5, 60)))
    return texts


def _long_texts(rng: random.Random) -> list[str]:
    pools = [ENGLISH, ACCENTED, CODE, CJK, EMOJI + NUMBERS + PUNCTUATION]
    texts = [PARAGRAPH * 6, PARAGRAPH * 30, ("word " * 253).strip(), ("word " * 254).strip()]
    for _ in range(16):
        parts = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(30, 90))]
        texts.append(" ".join(parts))
    return texts


@functools.cache
def corpus() -> tuple[str, ...]:
    """The parity corpus: the hand-written texts, then generated ones, then long ones."""
    rng = random.Random(SEED)
    written = [*ENGLISH, *ACCENTED, *GREEK, *CYRILLIC, *ARABIC_HEBREW, *INDIC_THAI, *CJK]
    written += [*EMOJI, *CODE, *NUMBERS, *PUNCTUATION]
    edge = ["", " ", "\t\n", "\u200b", "[CLS]", "[SEP][SEP]", ".", "a", "A.B.C", "ΣΑΣ ΣΑΣ"]
    texts = written + edge + _generated(rng) + _long_texts(rng)
    return tuple(dict.fromkeys(texts))  # without repeats, in order


def reference_tokenizer() -> Any:
    """``tokenizers`` with the pinned ``tokenizer.json``, as llmos uses it: 256 ids, no padding."""
    from tokenizers import Tokenizer

    folder = build.fetch_model(build.EMBEDDING_TOKENIZER)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


def sweep_text() -> str:
    """Every code point of :func:`every_code_point` in order, as one text: marks meet marks."""
    return "".join(map(chr, every_code_point()))


@functools.cache
def reference_sweep_words() -> list[str]:
    """:func:`sweep_text`'s words through the library's BertNormalizer and BertPreTokenizer."""
    tokenizer = reference_tokenizer()
    normalized = tokenizer.normalizer.normalize_str(sweep_text())
    return [word for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalized)]


def digest(words: list[str]) -> str:
    """A short fingerprint of a list of words (none holds a newline)."""
    return hashlib.sha256("\n".join(words).encode("utf-8", "surrogatepass")).hexdigest()


def reference_normalized(code_points: list[int]) -> list[str]:
    """Each code point through the library's BertNormalizer, without the spaces it adds
    around CJK ideographs or makes of whitespace."""
    text = f" {MARKER} ".join(chr(code) for code in code_points)
    parts = reference_tokenizer().normalizer.normalize_str(text).split(f" {MARKER} ")
    assert len(parts) == len(code_points), "a code point's normalisation swallowed the marker"
    return [part.strip() for part in parts]


def every_code_point() -> list[int]:
    """Every Unicode scalar value but the marker (surrogates are no text in Rust)."""
    return [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and chr(c) != MARKER]


@functools.cache
def reference() -> dict[str, Any]:
    """What the library says: ids for the corpus, every code point normalised, and the words of
    :func:`sweep_text` (their count and :func:`digest`).

    ``normalized`` is compact: code points in ``gone`` (ranges) normalise to nothing, those in
    ``mapped`` to the text given, and every other one of :func:`every_code_point` to itself.
    """
    tokenizer = reference_tokenizer()
    texts = list(corpus())
    ids = [encoding.ids for encoding in tokenizer.encode_batch(texts)]
    code_points = every_code_point()
    gone: list[list[int]] = []
    mapped: dict[str, str] = {}
    for code, text in zip(code_points, reference_normalized(code_points), strict=True):
        if not text:
            if gone and gone[-1][1] == code - 1:
                gone[-1][1] = code
            else:
                gone.append([code, code])
        elif text != chr(code):
            mapped[str(code)] = text
    normalized = {"marker": MARKER, "gone": gone, "mapped": mapped}
    words = reference_sweep_words()
    sweep = {"words": len(words), "sha256": digest(words)}
    return {"texts": texts, "ids": ids, "normalized": normalized, "sweep": sweep}


def write_reference(path: Path) -> None:
    """Save :func:`reference` as JSON (ASCII only) for a run that cannot compute it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference()))

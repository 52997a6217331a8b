"""BERT WordPiece for all-MiniLM-L6-v2 in pure Python, giving the same ids as ``tokenizers``.

Owns text -> wordpiece ids for the embedder, as the model's ``tokenizer.json`` defines them:
the special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` are matched in the raw text; BertNormalizer
drops control and format characters, turns whitespace into spaces, puts spaces around CJK
ideographs, strips accents (NFD, then no non-spacing marks) and lower-cases; BertPreTokenizer
splits on whitespace and isolates punctuation; WordPiece ("##" continuations, ``[UNK]`` for a word
it cannot spell or one over 100 characters) gives the ids; ``[CLS] ... [SEP]`` wraps them.
:meth:`WordPieceTokenizer.encode` truncates to ``max_tokens`` ids in all (256, no padding);
:meth:`WordPieceTokenizer.chunks` splits a longer text into overlapping windows whose offsets
point back into the original text.

Why the tables at the bottom: ``tokenizers`` classifies characters with the ``unicode_categories``
crate's tables (Unicode 8 era: unassigned code points are kept, U+166D is punctuation), takes NFD
from its own older table and lower-cases with Rust's newer one. Python's ``unicodedata`` differs
from each of them, and from itself across versions (CPython 3.11 has Unicode 14, Pyodide's 3.14
Unicode 16). So the character classes are written out below, probed from ``tokenizers`` 0.23.3
over every code point, and NFD and lower-casing take Python's with the few exceptions listed.
``tests/core/test_tokenizer.py`` checks every code point against the library, natively and in
Pyodide.

The text is cut into *runs* first: a run is a special token, one punctuation mark, one CJK
ideograph, or a stretch of anything else up to whitespace. Normalisation never joins two runs, so
each run is normalised and spelt on its own (and remembered: text repeats its words), and each
wordpiece knows the run of the original text it came from.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

MAX_TOKENS = 256
MAX_WORD_CHARS = 100
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_CONTINUATION = "##"
# Runs remembered with their ids; past this many the memory starts afresh (a bound, not an LRU).
_CACHE_LIMIT = 20_000
# Longer runs are not remembered: they are rare, and would keep big strings alive.
_CACHED_RUN_CHARS = 64


@dataclass(frozen=True)
class Chunk:
    """One window of a text: its original substring, where it lies, and its ids.

    ``text == original[start:end]``; ``ids`` is ``[CLS] ... [SEP]``, at most ``max_tokens`` long.
    """

    text: str
    start: int
    end: int
    ids: list[int]


class WordPieceTokenizer:
    """Text -> BERT wordpiece ids, identical to ``tokenizers`` with all-MiniLM-L6-v2's files."""

    def __init__(self, vocab: dict[str, int], max_tokens: int = MAX_TOKENS) -> None:
        if max_tokens < 3:
            raise ValueError(
                f"max_tokens must leave room for [CLS], [SEP] and a token: {max_tokens}"
            )
        missing = [token for token in SPECIAL_TOKENS if token not in vocab]
        if missing:
            raise ValueError(f"the vocabulary lacks the special tokens {missing}")
        self.max_tokens = max_tokens
        self._vocab = vocab
        self._tokens = {index: token for token, index in vocab.items()}
        self._longest = max(len(token) for token in vocab)
        self._unk = vocab["[UNK]"]
        self._cls = vocab["[CLS]"]
        self._sep = vocab["[SEP]"]
        self._specials = {token: vocab[token] for token in SPECIAL_TOKENS}
        self._runs: dict[str, tuple[int, ...]] = {}

    @classmethod
    def load(cls) -> WordPieceTokenizer:
        """The tokenizer with the vocabulary shipped in this package (one shared instance)."""
        return _shipped()

    @classmethod
    def from_vocab(cls, text: str, max_tokens: int = MAX_TOKENS) -> WordPieceTokenizer:
        """A tokenizer from a ``vocab.txt``'s text: one token a line, its id the line number."""
        lines = text.split("\n")
        if lines and not lines[-1]:
            lines.pop()
        return cls({token: index for index, token in enumerate(lines)}, max_tokens)

    def tokenize(self, text: str) -> list[str]:
        """All of ``text``'s wordpieces, without [CLS]/[SEP] and without truncation."""
        return [self._tokens[index] for index in self._ids(text)]

    def encode(self, text: str) -> list[int]:
        """``[CLS] ids [SEP]``, truncated to ``max_tokens`` ids in all."""
        return [self._cls, *self._ids(text, limit=self.max_tokens - 2), self._sep]

    def chunks(self, text: str, overlap: int = 32) -> list[Chunk]:
        """``text`` as windows of at most ``max_tokens`` ids each, [CLS] and [SEP] included.

        A text that fits is one chunk, the whole text, with the ids of :meth:`encode`. A longer
        one gives windows in order, each sharing ``overlap`` wordpieces with the next, and cut
        between runs (never inside a word's pieces unless one word outgrows a window). The first
        chunk starts at 0 and the last ends at ``len(text)``, so together they cover the text;
        the others span their runs. No wordpieces (empty or blank text): no chunks.
        """
        body = self.max_tokens - 2
        if not 0 <= overlap < body:
            raise ValueError(f"overlap must be in [0, {body}): {overlap}")
        pieces = self._pieces(text)
        if not pieces.ids:
            return []
        windows = _windows(len(pieces.ids), body, overlap, pieces.run_first)
        return [self._chunk(text, pieces, start, end) for start, end in windows]

    def _chunk(self, text: str, pieces: _Pieces, first: int, stop: int) -> Chunk:
        start = 0 if first == 0 else pieces.start_of(first)
        end = len(text) if stop == len(pieces.ids) else pieces.end_of(stop - 1)
        return Chunk(text[start:end], start, end, [self._cls, *pieces.ids[first:stop], self._sep])

    def _ids(self, text: str, limit: int | None = None) -> list[int]:
        ids: list[int] = []
        for run in _RUN.findall(text) if limit is None else _iter_runs(text):
            ids.extend(self._run_ids(run))
            if limit is not None and len(ids) >= limit:
                return ids[:limit]
        return ids

    def _pieces(self, text: str) -> _Pieces:
        pieces = _Pieces()
        for match in _RUN.finditer(text):
            run_ids = self._run_ids(match.group())
            if run_ids:
                pieces.add(run_ids, match.start(), match.end())
        return pieces

    def _run_ids(self, run: str) -> tuple[int, ...]:
        ids = self._runs.get(run)
        if ids is None:
            ids = self._spell_run(run)
            if len(run) <= _CACHED_RUN_CHARS:
                if len(self._runs) >= _CACHE_LIMIT:
                    self._runs.clear()
                self._runs[run] = ids
        return ids

    def _spell_run(self, run: str) -> tuple[int, ...]:
        special = self._specials.get(run)
        if special is not None:
            return (special,)
        return tuple(index for word in normalized_words(run) for index in self._spell(word))

    def _spell(self, word: str) -> list[int]:
        """WordPiece: the longest known start, then the longest known "##" continuation, and
        so on; a word that cannot be spelt so, or is too long, is ``[UNK]``."""
        if len(word) > MAX_WORD_CHARS:
            return [self._unk]
        whole = self._vocab.get(word)
        if whole is not None:
            return [whole]
        ids: list[int] = []
        start, prefix = 0, ""
        while start < len(word):
            for end in range(min(len(word), start + self._longest), start, -1):
                index = self._vocab.get(prefix + word[start:end])
                if index is not None:
                    break
            else:
                return [self._unk]
            ids.append(index)
            start, prefix = end, _CONTINUATION
        return ids


class _Pieces:
    """A text's wordpiece ids with the runs they came from (piece index -> character span)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.run_first: list[int] = []  # the index of each run's first piece
        self._run_start: list[int] = []
        self._run_end: list[int] = []

    def add(self, run_ids: tuple[int, ...], start: int, end: int) -> None:
        self.run_first.append(len(self.ids))
        self._run_start.append(start)
        self._run_end.append(end)
        self.ids.extend(run_ids)

    def start_of(self, piece: int) -> int:
        return self._run_start[bisect.bisect_right(self.run_first, piece) - 1]

    def end_of(self, piece: int) -> int:
        return self._run_end[bisect.bisect_right(self.run_first, piece) - 1]


def _windows(count: int, body: int, overlap: int, run_first: list[int]) -> list[tuple[int, int]]:
    """[start, stop) piece windows of at most ``body`` pieces, ``overlap`` shared, cut at runs."""
    windows: list[tuple[int, int]] = []
    start = 0
    while True:
        stop = min(start + body, count)
        if stop < count:
            stop = _run_start_at_or_before(run_first, stop, floor=start + 1)
        windows.append((start, stop))
        if stop == count:
            return windows
        start = _run_start_at_or_before(run_first, max(stop - overlap, start + 1), floor=start + 1)


def _run_start_at_or_before(run_first: list[int], piece: int, floor: int) -> int:
    """The first piece of the run holding ``piece``, or ``piece`` if that lies below ``floor``."""
    first = run_first[bisect.bisect_right(run_first, piece) - 1]
    return first if first >= floor else piece


def normalized_words(text: str) -> list[str]:
    """The words of ``text`` as BertNormalizer then BertPreTokenizer give them.

    Special tokens are not looked for here: ``"[SEP]"`` gives ``["[", "sep", "]"]``.
    """
    if text.isascii() and text.isalnum():
        return [text.lower()]
    return _WORD_RE.findall(normalize(text))


def normalize(text: str) -> str:
    """BertNormalizer's text, but for its spacing: deleted control and format characters,
    stripped accents, lower case; whitespace is left as it is and CJK ideographs unpadded
    (:func:`normalized_words` splits at both)."""
    text = _decompose(_REMOVED_RE.sub("", text))
    return _MARK_RE.sub("", text).translate(_LOWER).lower()


def _decompose(text: str) -> str:
    """NFD as the Rust library's older table does it: NFD between the characters it does not
    know, those left whole and in place."""
    if _KEEP_WHOLE_RE.search(text) is None:
        return unicodedata.normalize("NFD", text)
    parts = _KEEP_WHOLE_RE.split(text)  # odd indexes hold the characters kept whole
    return "".join(
        part if index % 2 else unicodedata.normalize("NFD", part)
        for index, part in enumerate(parts)
    )


def _iter_runs(text: str) -> Iterator[str]:
    return (match.group() for match in _RUN.finditer(text))


@functools.cache
def _shipped() -> WordPieceTokenizer:
    vocab = resources.files(__package__).joinpath("vocab.txt").read_text(encoding="utf-8")
    return WordPieceTokenizer.from_vocab(vocab)


# --- character tables -------------------------------------------------------------------------
# Hex code points and ranges, as tokenizers 0.23.3 classifies them (probed over every code point).

# Deleted by BertNormalizer's clean_text: the crate's Cc, Cf and Co (and Cs), NUL and U+FFFD.
_REMOVED = """
    0000-0008 000B-000C 000E-001F 007F-009F 00AD 0600-0605 061C 06DD 070F 180E 200B-200F
    202A-202E 2060-2064 2066-206F E000-F8FF FEFF FFF9-FFFB FFFD 110BD 1BCA0-1BCA3 1D173-1D17A
    E0001 E0020-E007F F0000-FFFFD 100000-10FFFD
"""
# Whitespace, each made a plain space (and so a word boundary): Rust's char::is_whitespace plus
# tab, newline and carriage return, less the ones deleted above.
_SPACES = """
    0009-000A 000D 0020 00A0 1680 2000-200A 2028-2029 202F 205F 3000
"""
# Punctuation, each a word of its own: ASCII punctuation and the crate's P* categories.
_PUNCTUATION = """
    0021-002F 003A-0040 005B-0060 007B-007E 00A1 00A7 00AB 00B6-00B7 00BB 00BF 037E 0387
    055A-055F 0589-058A 05BE 05C0 05C3 05C6 05F3-05F4 0609-060A 060C-060D 061B 061E-061F
    066A-066D 06D4 0700-070D 07F7-07F9 0830-083E 085E 0964-0965 0970 0AF0 0DF4 0E4F 0E5A-0E5B
    0F04-0F12 0F14 0F3A-0F3D 0F85 0FD0-0FD4 0FD9-0FDA 104A-104F 10FB 1360-1368 1400 166D-166E
    169B-169C 16EB-16ED 1735-1736 17D4-17D6 17D8-17DA 1800-180A 1944-1945 1A1E-1A1F 1AA0-1AA6
    1AA8-1AAD 1B5A-1B60 1BFC-1BFF 1C3B-1C3F 1C7E-1C7F 1CC0-1CC7 1CD3 2010-2027 2030-2041 2043
    2045-2051 2053-205E 207D-207E 208D-208E 2308-230B 2329-232A 2768-2775 27C5-27C6 27E6-27EF
    2983-2998 29D8-29DB 29FC-29FD 2CF9-2CFC 2CFE-2CFF 2D70 2E00-2E2E 2E30-2E42 3001-3003
    3008-3011 3014-301F 3030 303D 30A0 30FB A4FE-A4FF A60D-A60F A673 A67E A6F2-A6F7 A874-A877
    A8CE-A8CF A8F8-A8FA A8FC A92E-A92F A95F A9C1-A9CD A9DE-A9DF AA5C-AA5F AADE-AADF AAF0-AAF1
    ABEB FD3E-FD3F FE10-FE19 FE30-FE52 FE54-FE61 FE63 FE68 FE6A-FE6B FF01-FF03 FF05-FF0A
    FF0C-FF0F FF1A-FF1B FF1F-FF20 FF3B-FF3D FF3F FF5B FF5D FF5F-FF65 10100-10102 1039F 103D0
    1056F 10857 1091F 1093F 10A50-10A58 10A7F 10AF0-10AF6 10B39-10B3F 10B99-10B9C 11047-1104D
    110BB-110BC 110BE-110C1 11140-11143 11174-11175 111C5-111C9 111CD 111DB 111DD-111DF
    11238-1123D 112A9 114C6 115C1-115D7 11641-11643 1173C-1173E 12470-12474 16A6E-16A6F 16AF5
    16B37-16B3B 16B44 1BC9F 1DA87-1DA8B
"""
# Non-spacing marks (the crate's Mn), dropped after NFD: this is how accents are stripped.
_MARKS = """
    0300-036F 0483-0487 0591-05BD 05BF 05C1-05C2 05C4-05C5 05C7 0610-061A 064B-065F 0670
    06D6-06DC 06DF-06E4 06E7-06E8 06EA-06ED 0711 0730-074A 07A6-07B0 07EB-07F3 0816-0819
    081B-0823 0825-0827 0829-082D 0859-085B 08E3-0902 093A 093C 0941-0948 094D 0951-0957
    0962-0963 0981 09BC 09C1-09C4 09CD 09E2-09E3 0A01-0A02 0A3C 0A41-0A42 0A47-0A48 0A4B-0A4D
    0A51 0A70-0A71 0A75 0A81-0A82 0ABC 0AC1-0AC5 0AC7-0AC8 0ACD 0AE2-0AE3 0B01 0B3C 0B3F
    0B41-0B44 0B4D 0B56 0B62-0B63 0B82 0BC0 0BCD 0C00 0C3E-0C40 0C46-0C48 0C4A-0C4D 0C55-0C56
    0C62-0C63 0C81 0CBC 0CBF 0CC6 0CCC-0CCD 0CE2-0CE3 0D01 0D41-0D44 0D4D 0D62-0D63 0DCA
    0DD2-0DD4 0DD6 0E31 0E34-0E3A 0E47-0E4E 0EB1 0EB4-0EB9 0EBB-0EBC 0EC8-0ECD 0F18-0F19 0F35
    0F37 0F39 0F71-0F7E 0F80-0F84 0F86-0F87 0F8D-0F97 0F99-0FBC 0FC6 102D-1030 1032-1037
    1039-103A 103D-103E 1058-1059 105E-1060 1071-1074 1082 1085-1086 108D 109D 135D-135F
    1712-1714 1732-1734 1752-1753 1772-1773 17B4-17B5 17B7-17BD 17C6 17C9-17D3 17DD 180B-180D
    18A9 1920-1922 1927-1928 1932 1939-193B 1A17-1A18 1A1B 1A56 1A58-1A5E 1A60 1A62 1A65-1A6C
    1A73-1A7C 1A7F 1AB0-1ABD 1B00-1B03 1B34 1B36-1B3A 1B3C 1B42 1B6B-1B73 1B80-1B81 1BA2-1BA5
    1BA8-1BA9 1BAB-1BAD 1BE6 1BE8-1BE9 1BED 1BEF-1BF1 1C2C-1C33 1C36-1C37 1CD0-1CD2 1CD4-1CE0
    1CE2-1CE8 1CED 1CF4 1CF8-1CF9 1DC0-1DF5 1DFC-1DFF 20D0-20DC 20E1 20E5-20F0 2CEF-2CF1 2D7F
    2DE0-2DFF 302A-302D 3099-309A A66F A674-A67D A69E-A69F A6F0-A6F1 A802 A806 A80B A825-A826
    A8C4 A8E0-A8F1 A926-A92D A947-A951 A980-A982 A9B3 A9B6-A9B9 A9BC A9E5 AA29-AA2E AA31-AA32
    AA35-AA36 AA43 AA4C AA7C AAB0 AAB2-AAB4 AAB7-AAB8 AABE-AABF AAC1 AAEC-AAED AAF6 ABE5 ABE8
    ABED FB1E FE00-FE0F FE20-FE2F 101FD 102E0 10376-1037A 10A01-10A03 10A05-10A06 10A0C-10A0F
    10A38-10A3A 10A3F 10AE5-10AE6 11001 11038-11046 1107F-11081 110B3-110B6 110B9-110BA
    11100-11102 11127-1112B 1112D-11134 11173 11180-11181 111B6-111BE 111CA-111CC 1122F-11231
    11234 11236-11237 112DF 112E3-112EA 11300-11301 1133C 11340 11366-1136C 11370-11374
    114B3-114B8 114BA 114BF-114C0 114C2-114C3 115B2-115B5 115BC-115BD 115BF-115C0 115DC-115DD
    11633-1163A 1163D 1163F-11640 116AB 116AD 116B0-116B5 116B7 1171D-1171F 11722-11725
    11727-1172B 16AF0-16AF4 16B30-16B36 16F8F-16F92 1BC9D-1BC9E 1D167-1D169 1D17B-1D182
    1D185-1D18B 1D1AA-1D1AD 1D242-1D244 1DA00-1DA36 1DA3B-1DA6C 1DA75 1DA84 1DA9B-1DA9F
    1DAA1-1DAAF 1E8D0-1E8D6 E0100-E01EF
"""
# CJK ideographs, each a word of its own (BertNormalizer's handle_chinese_chars).
_CJK = """
    3400-4DBF 4E00-9FFF F900-FAFF 20000-2A6DF 2A700-2B81F 2B920-2CEAF 2F800-2FA1F
"""
# Where Rust's lower-casing (Unicode 17) differs from str.lower() in CPython 3.11 or Pyodide's
# 3.14: "FROM:TO" or "FIRST-LAST:TO_FIRST". Rust lower-cases one character at a time, so a
# final capital sigma becomes U+03C3, never the final form U+03C2.
_LOWER_CASE = """
    03A3:03C3 1C89:1C8A A7CB:0264 A7CC:A7CD A7CE:A7CF A7D2:A7D3 A7D4:A7D5 A7DA:A7DB A7DC:019B
    10D50-10D65:10D70 16EA0-16EB8:16EBB
"""
# Characters the Rust library's NFD table (older) does not know, and Python's unicodedata
# (Unicode 14 or 16) does: the first line decomposes in Python, the rest are combining marks that
# Python would reorder. Rust leaves each as it is, where it is.
_KEEP_WHOLE = """
    105C9 105E4 11383 11385 1138E 11391 113C5 113C7-113C8 11938 16121-16128 16D68-16D6A
    07FD 0897-089F 08CA-08D3 09FE 0C3C 0D3B-0D3C 0EBA 1715 1ABF-1ACE 1DF6-1DFA A82C 10D24-10D27
    10D69-10D6D 10EAB-10EAC 10EFD-10EFF 10F46-10F50 10F82-10F85 11070 1133B 113CE-113D0 1145E
    11839-1183A 1193D-1193E 11943 119E0 11A34 11A47 11A99 11D42 11D44-11D45 11D97 11F41-11F42
    1612F 16FF0-16FF1 1E08F 1E130-1E136 1E2AE 1E2EC-1E2EF 1E4EC-1E4EF 1E5EE-1E5EF
"""


def _ranges(table: str) -> list[tuple[int, int]]:
    spans = []
    for item in table.split():
        first, _, last = item.partition("-")
        spans.append((int(first, 16), int(last or first, 16)))
    return spans


def _char_class(*tables: str) -> str:
    """The body of a regex character class holding every code point of ``tables``."""
    return "".join(
        f"\\U{first:08x}" if first == last else f"\\U{first:08x}-\\U{last:08x}"
        for table in tables
        for first, last in _ranges(table)
    )


def _lower_case_table(table: str) -> dict[int, int]:
    mapping = {}
    for item in table.split():
        source, _, target = item.partition(":")
        [(first, last)] = _ranges(source)
        for offset in range(last - first + 1):
            mapping[first + offset] = int(target, 16) + offset
    return mapping


_SEPARATE = _char_class(_PUNCTUATION, _CJK)
_SPECIAL = "|".join(re.escape(token) for token in SPECIAL_TOKENS)
# A run: a special token, one punctuation mark or CJK ideograph, or a stretch of anything else
# (deleted characters included: they join what they stand between) up to whitespace.
_RUN = re.compile(f"{_SPECIAL}|[{_SEPARATE}]|[^{_SEPARATE}{_char_class(_SPACES)}]+")
_WORD_RE = re.compile(f"[{_SEPARATE}]|[^{_SEPARATE}{_char_class(_SPACES)}]+")
_REMOVED_RE = re.compile(f"[{_char_class(_REMOVED)}]+")
_MARK_RE = re.compile(f"[{_char_class(_MARKS)}]+")
_KEEP_WHOLE_RE = re.compile(f"([{_char_class(_KEEP_WHOLE)}])")
_LOWER = _lower_case_table(_LOWER_CASE)

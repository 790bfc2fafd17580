"""The one rule for text a member types: line breaks folded, control characters and direction
overrides refused, a length limit.

Single-line text (names of members, circles and tokens) follows the same rule and refuses line
breaks of every kind and direction controls too: a name is drawn inside lines of its own, in
pages and in emails, and must not be able to write more of them.
"""
import functools
import itertools
import re
import string
import unicodedata

BODY_MAX = 5000  # the longest message, help request or comment
# Everything below space except tab and newline, DEL and the C1 controls (NEL, U+0085, among
# them: a browser draws it as a stray box, a mail reader may break a line there): never meant in
# text, and PostgreSQL can't store NUL at all (the query fails). Carriage returns are folded into
# newlines first. And half of a UTF-16 pair (a lone surrogate, which JSON's "\ud800" makes): no
# character at all, and no database can store it (a send with one was a 500: an API tester).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Direction controls reorder the text around them ("Bob\u202ekcilA" shows as "BobAlick"), so a
# display name holding one could pass for someone else's. Names in right-to-left scripts need none.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Every character Unicode or a mail reader may start a new line at: LF, VT, FF, CR, NEL (U+0085),
# LINE SEPARATOR and PARAGRAPH SEPARATOR. With the other C1 controls, never meant in a name.
LINE_BREAKS = re.compile("[\n\x0b\x0c\r\x80-\x9f\u2028\u2029]")
# The two that force letters backwards or forwards (left-to-right and right-to-left override):
# "\u202egnp.exe" shows as "exe.png". Text in any script reads right without them (the marks
# and embeddings other text may need only move punctuation and numbers), so no text keeps them.
DIRECTION_OVERRIDES = re.compile("[\u202d\u202e]")
SPACES = re.compile(" {2,}")
CONTROL_CHARACTERS_MESSAGE = "Use text only; remove the control characters and try again."
# A lone surrogate is no control character, and was called one (a residents' building's tester): said
# for what it is. Only a client can send one (JSON's "\ud800"); a browser's form never does.
SURROGATES = re.compile(r"[\ud800-\udfff]")
SURROGATE_MESSAGE = ("U+{code:04X}, character {position:,}, isn't a valid character: it is half of a UTF-16 "
                     "surrogate pair, sent without its other half. Send the whole character (or remove it) and try again.")
LINE_BREAKS_MESSAGE = "{label} are one line: remove the line breaks and try again."
BIDI_CONTROLS_MESSAGE = (
    "{label} can't contain direction controls (such as right-to-left override): "
    "they can make a name look like someone else's. Remove them and try again."
)
DIRECTION_OVERRIDES_MESSAGE = (
    "Text can't contain a direction override (right-to-left or left-to-right override): it makes text, "
    "such as a file name, read as something it isn't. Remove it and try again."
)
TOO_LONG = "{label} can be at most {max_length:,} characters."
BLANK_NAME_MESSAGE = "{label} need a visible character: these are all spaces or invisible characters."
# Letters that draw nothing (Hangul fillers, the blank Braille pattern): with spaces and the invisible
# format characters (zero-width space and joiners, word joiner, soft hyphen...) they make text that
# looks empty, an empty bubble or a member without a name.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


class TextRefused(ValueError):
    """Text that can't be stored; its message says why, in words for the member."""

    @property
    def message(self) -> str:
        return str(self)


def fold_newlines(raw) -> str:
    """raw with "\\r\\n" and "\\r" as "\\n" (a textarea sends "\\r\\n"); None as ""."""
    return (raw or "").replace("\r\n", "\n").replace("\r", "\n")


# The breaks a word processor puts in copied text, as a new line: Word's line break (U+000B) and page
# break (U+000C), NEL, and Unicode's line and paragraph separators (which drew nothing, running words
# together: a street's tester). Refused as control characters, they were invisible in the box, so a member
# couldn't find them to remove them (a residents' building's tester pasted from Word).
_PASTED_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})


def fold_line_breaks(raw) -> str:
    """fold_newlines, and a word processor's line and page breaks as "\\n": a text's line breaks."""
    return fold_newlines(raw).translate(_PASTED_BREAKS)


def is_blank(text: str) -> bool:
    """True when text shows nothing: only spaces, invisible format characters, combining marks
    with nothing to combine with, and letters that draw nothing."""
    return all(char.isspace() or char in BLANK_LETTERS or unicodedata.category(char) in ("Cf", "Mn", "Me")
               for char in text)


def has_control_characters(raw) -> bool:
    """True when raw holds a character the rule refuses (line breaks of any kind are fine)."""
    return CONTROL_CHARACTERS.search(fold_newlines(raw)) is not None


def clean_text(raw, max_length: int, field_label: str, *, required: str | None = None,
               too_long: str = TOO_LONG, control: str = CONTROL_CHARACTERS_MESSAGE) -> str:
    """raw folded and trimmed, or TextRefused: empty (when `required` says why not), too long, or control characters.

    field_label names the field in the default too-long message ("Bios can be at most...");
    `too_long` may use {label}, {max_length} and {length}.
    """
    folded = fold_line_breaks(raw)
    text = folded.strip()
    if required and is_blank(text):
        raise TextRefused(required)
    if len(text) > max_length:
        raise TextRefused(too_long.format(label=field_label, max_length=max_length, length=len(text)))
    # Checked before trimming: strip() would quietly drop a trailing "\x1f" or "\x0b".
    found = CONTROL_CHARACTERS.search(folded)
    if found and SURROGATES.match(found.group()):
        raise TextRefused(SURROGATE_MESSAGE.format(code=ord(found.group()), position=found.start() + 1))
    if found:
        # Which, and where: they draw as nothing in the box, so a member couldn't tell what to remove
        # (a marketplace tester).
        raise TextRefused(f"{control} The first is U+{ord(found.group()):04X}, character {found.start() + 1:,}.")
    if DIRECTION_OVERRIDES.search(text):
        raise TextRefused(DIRECTION_OVERRIDES_MESSAGE)
    return text



def clean_line(raw, max_length: int, field_label: str, *, required: str | None = None,
               too_long: str = TOO_LONG) -> str:
    """raw trimmed, or TextRefused: clean_text's refusals plus line breaks and direction controls.

    field_label is plural ("Display names") and names the field in every refusal.
    """
    raw = "" if raw is None else str(raw)
    if required and not raw.strip():  # only spaces and line breaks: nothing was typed
        raise TextRefused(required)
    if LINE_BREAKS.search(raw):  # before clean_text, which would fold "\r" and trim a trailing "\n"
        raise TextRefused(LINE_BREAKS_MESSAGE.format(label=field_label))
    if BIDI_CONTROLS.search(raw):  # the overrides among them too, in a name's own words
        raise TextRefused(BIDI_CONTROLS_MESSAGE.format(label=field_label))
    text = clean_text(raw, max_length, field_label, required=required, too_long=too_long)
    if text and is_blank(text):
        raise TextRefused(BLANK_NAME_MESSAGE.format(label=field_label))
    return text


# Unicode's default ignorable code points (DerivedCoreProperties.txt): drawn as nothing wherever
# they stand, among them marks and letters a category test misses (the combining grapheme joiner
# U+034F, the Hangul fillers, Khmer's inherent vowels U+17B4-5, variation selectors).
DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


# What a mail client or a chat app makes a link of: a scheme and its //, "www.", a host with a path,
# an IP address, or a host under a country's top-level domain (any two letters) or one of the others
# most links end in. "evil.co" passed a shorter list into an email (a re-check tester); "J.R. Smith",
# "St. John" and "St.Clair" are none of these ("Dr.Jo" is: Jordan's).
WEB_ADDRESS = re.compile(
    r"[a-z][a-z0-9+.-]*://|\bwww\.|\b[\w-]+(?:\.[\w-]+)+/|\b\d{1,3}(?:\.\d{1,3}){3}\b"
    r"|\b[\w-]+\.(?:[a-z]{2}|com|net|org|info|biz|app|dev|xyz|top|site|online|link|click|shop|store|live|page"
    r"|help|zip|mov|club|vip|pro|tech|cloud|email|money|bank|login|support)\b",
    re.IGNORECASE,
)


def holds_web_address(text: str) -> bool:
    """Whether text holds what a mail client would make a link of (WEB_ADDRESS), written in any width
    ("ｅｖｉｌ．ｃｏｍ") or with an ideographic full stop ("evil。com")."""
    return WEB_ADDRESS.search(unicodedata.normalize("NFKC", text).replace("\u3002", ".")) is not None


# Letters of other alphabets drawn like a Latin one (after case folding), from Unicode's confusables
# (confusablesSummary.txt): "Аlice" with a Cyrillic А read as Alice in an inbox (an outside tester).
# A capital's look-alike where the two cases differ (Greek Η is "H", its small η is folded to it; how the
# small one is drawn, an n, is read too: _drawn_look_alikes).
LOOK_ALIKES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "г": "r", "е": "e", "з": "e", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
    "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "һ": "h", "ү": "y", "ѵ": "v", "ь": "b",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "μ": "m", "ν": "n", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "y", "χ": "x", "ϲ": "c", "ϳ": "j",
    # Armenian
    "օ": "o", "ո": "n", "ս": "u", "հ": "h", "ց": "g", "զ": "q",
    # Latin letters no accent folding reaches, small capitals and hooked letters ("Ada Admiɴ",
    # "Bob Okaƒor" passed for the practice's staff: an outside tester), and digits drawn as letters
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "ɡ": "g", "ʏ": "y", "ĸ": "k",
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j",
    "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ƒ": "f", "ɑ": "a", "ɩ": "i", "ʋ": "v", "ɵ": "o", "ɾ": "r",
    # digits too, each as the letter it is drawn like ("B0b", "S4m Green", "Sam Gr33n", "Carl Jone5": a
    # marketplace's tester); a 1 as an i, a 6 as a g and a 9 as a q are name_keys' second readings
    "0": "o", "1": "l", "2": "z", "3": "e", "4": "a", "5": "s", "6": "b", "7": "t", "8": "b", "9": "g",
    # Latin letters turned or reversed, as the letter "upside down" and mirror text generators draw with
    # them ("Ǝam Green" passed for Sam Green: a marketplace's tester); an open o and a schwa read as the o
    # and e they are drawn like (a turned m is the w it looks like: confusables)
    "ǝ": "e", "ə": "e", "ɘ": "e", "ɐ": "a", "ɒ": "a", "ɔ": "o", "ↄ": "c", "ɟ": "f", "ɥ": "h", "ɹ": "r",
    "ɿ": "r", "ᴙ": "r", "ᴚ": "r", "ʁ": "r", "ʇ": "t", "ʌ": "v", "ʍ": "w", "ʎ": "y", "ʞ": "k", "ꞁ": "l",
    "ᴎ": "n", "ꟼ": "p", "ƨ": "s",
    # "Fancy text" generators' capitals from Canadian syllabics and Greek's lambda for an A ("ᗩᗪᗩ ᗩᗪᗰIᑎ",
    # "ᗷOᗷ OKᗩᖴOᖇ", "ΛLICE" passed for the admin and members: an outside tester)
    "ᗩ": "a", "ᗷ": "b", "ᑕ": "c", "ᗪ": "d", "ᕮ": "e", "ᖴ": "f", "ᕼ": "h", "ᒍ": "j", "ᒪ": "l", "ᗰ": "m",
    "ᑎ": "n", "ᑭ": "p", "ᑫ": "q", "ᖇ": "r", "ᔕ": "s", "ᑌ": "u", "ᐯ": "v", "ᗯ": "w", "᙭": "x", "ᘔ": "z",
    "λ": "a",
    # and their cousins a re-check tester found passing: more syllabics and a runic k, Greek and Cyrillic
    # capitals drawn as Latin ones ("ΔLICE", "ΛDMIИ", "MΦЯΣИΦ"), phonetic letters ("αԃɱιɳ", "ɮօɮ օӄǟʄօʀ")
    # and the CJK strokes that spell Latin letters ("卂ᗪ爪丨几", "ᔕ丅ᗩᖴᖴ"); a name of those scripts
    # still reads apart from every Latin name unless each of its letters is one of these
    "ᓰ": "i", "ᗝ": "o", "ᛕ": "k", "ᘜ": "g", "δ": "a", "σ": "e", "φ": "o", "я": "r", "и": "n",
    "ԃ": "d", "ɱ": "m", "ɳ": "n", "ɮ": "b", "ӄ": "k", "ʄ": "f",
    "卂": "a", "乃": "b", "匚": "c", "乇": "e", "千": "f", "卄": "h", "丨": "i", "ﾌ": "j", "ㄥ": "l", "爪": "m",
    "几": "n", "ㄖ": "o", "卩": "p", "尺": "r", "丂": "s", "丅": "t", "ㄩ": "u", "山": "w", "乂": "x", "ㄚ": "y",
    "乙": "z",
})

# Capital letters in a box or circle that compatibility folding (NFKC) leaves as symbols, and so as
# gaps: negative circled 🅐, negative squared 🅰 and the regional indicators 🇦 (drawn as boxed letters
# where no flag pairs them). "🅰🅳🅰 🅰🅳🅼🅸🅽" read as nothing to compare and passed (an outside tester).
_ENCLOSED_CAPITALS = {first + offset: chr(ord("A") + offset)
                      for first in (0x1F150, 0x1F170, 0x1F1E6) for offset in range(26)}
# And the currency signs drawn as letters, symbols too until read so ("₳ĐMł₦" passed for "ADMIN": a re-check tester).
_ENCLOSED_CAPITALS.update({ord(sign): letter for sign, letter in (
    ("₳", "A"), ("₦", "N"), ("₱", "P"), ("₩", "W"), ("₵", "C"), ("₮", "T"), ("₴", "S"), ("₲", "G"), ("₭", "K"),
    ("₣", "F"), ("₤", "L"), ("₥", "M"), ("฿", "B"), ("€", "E"), ("$", "S"),
    ("⅁", "G"), ("⅄", "Y"))})  # and the turned sans-serif capitals


def _signs_as_gaps(text: str) -> str:
    """text with each sign that compatibility folding would spell as letters a space (_sign_as_gap)."""
    return text if text.isascii() else "".join(map(_sign_as_gap, text))


@functools.lru_cache(maxsize=4096)
def _sign_as_gap(char: str) -> str:
    """A space for a symbol that NFKC spells as two letters or more and glues to the word before it (™ as
    "TM", ℠, ℡, №, ㎏: "Sam Green™" read as "Sam GreenTM", a name of its own, a marketplace's tester),
    as ® and © read; else char (a letter in a circle or a box, Ⓐ or 🄰, is that letter)."""
    spelled = unicodedata.normalize("NFKC", char)
    return " " if unicodedata.category(char)[0] == "S" and sum(map(str.isalpha, spelled)) >= 2 else char


# A trade mark written out and glued to a word's end in capitals after a small letter ("Sam GreenTM"),
# or raised: read as the sign as well as letters of the word (name_keys), since no name ends so. A "Tm"
# or "tm" too ("Sam GreenTm", "Sam Greentm": a re-check tester); no name's word ends in them either.
_GLUED_MARK = re.compile(r"(?<=[^\W\d_])(?:TM|SM|Tm|tm)(?![^\W\d_])|ᵀᴹ|ˢᴹ|ᵗᵐ|ˢᵐ")
# What a raised, lowered, circled or boxed character is drawn as beside a word: a mark, not its letters
# ("Sam Green¹", "Sam GreenⓇ", "Sam Greenᵃ", "Sam Green₁" passed for Sam Green, read as "green1",
# "greenr": a re-check tester). name_keys reads such a name with them as gaps as well.
_MARK_FORMS = ("<super>", "<sub>", "<circle>", "<square>")


@functools.lru_cache(maxsize=4096)
def _drawn_as_a_mark(char: str) -> bool:
    return unicodedata.decomposition(char).startswith(_MARK_FORMS)


def _marks_as_gaps(name: str) -> str:
    """name with its raised, lowered, circled and boxed characters (_MARK_FORMS) as gaps."""
    return name if name.isascii() else "".join(" " if _drawn_as_a_mark(char) else char for char in name)


def _without_glued_marks(name: str) -> str:
    """name with a trade mark glued to a word's end (_GLUED_MARK) read as a gap."""
    def gap(mark):  # after a capital, "TM" may be the word's own ("ATM"); a raised one is always the sign
        return " " if not mark.group().isascii() or name[mark.start() - 1].islower() else mark.group()
    return _GLUED_MARK.sub(gap, name)


# Bars drawn as an l when they touch a letter ("A|ice", "Caro|"): a bar standing alone is punctuation.
_BARS = "|\u05c0\u2223\u23fd\u2502"  # and Hebrew's paseq, DIVIDES, POWER ON, box drawing's line
_BAR_IN_A_WORD = re.compile(f"(?<=\\w)[{_BARS}]|[{_BARS}](?=\\w)")
# "cl" drawn as a "d" inside a word ("Ada Aclmin"); at a word's start it is a capital C's ("Clara" isn't "Dara").
_CL_AS_D = re.compile(r"\Bcl")


@functools.cache
def _look_alikes() -> dict:
    """LOOK_ALIKES grown from Unicode's confusables (UTS #39): every other character drawn as a single
    Latin letter or digit, as that letter in lower case ("ꓮ" of Lisu, "Ꮯ" of Cherokee, "ⲟ" of Coptic),
    or as one with a mark, as that letter, as accents read ("ɗ" is drawn as "d̔", "ɨ" as "i̵": "Aɗmin"
    and "Admɨn" passed for the admin, an outside attacker; so are the Latin letters with a hook, stroke or
    curl the data leaves out, and those of another hand, insular or script: _latin_letters_with_marks), and
    the Latin letters drawn as punctuation ("ǃ", "ʔ") as a space, as punctuation reads. Each as case folding
    leaves it, since name_key folds first (how a letter is drawn before folding is _drawn_look_alikes').
    Built on first use, not at import: loading the data is most of the cost, and a CLI command or the
    app's start needn't pay it (docs/performance.md)."""
    table = {}
    for layer in (_latin_letters_with_marks(), _confusables(marked=True), _confusables(marked=False)):
        own, by_capital = {}, {}  # each layer wins over the one before it, a letter's own look-alike over its capital's
        for letter, char in layer:
            reading = " " if letter in string.punctuation else LOOK_ALIKES.get(ord(letter), letter.lower())
            folded = char.casefold()  # what NFKC changes never reaches the table as itself (_drawn_look_alikes')
            if len(folded) != 1 or unicodedata.normalize("NFKC", char) != char \
                    or reading == " " and not _is_latin_letter(char):
                continue
            (own if folded == char else by_capital)[ord(folded)] = reading
        table |= by_capital | own
    return table | LOOK_ALIKES  # the hand-made entries where they differ (ν as n, not v)


@functools.cache
def _drawn_look_alikes() -> dict:
    """The letters whose look name_key's folding loses, each as the Latin letter it is drawn as (Unicode's
    confusables), in its case: compatibility folding turns "ϲ" (drawn as a c) into a sigma and "ſ" (drawn
    as an f) into an s, and case folding turns a small "η" (drawn as an n) into the capital "Η"'s H, so
    "Aliϲe Moreno", "Bob Okaſor" and "Alice Moreηo" passed for Alice Moreno and Bob Okafor (an outside
    attacker). name_keys reads them so as well as folded (_drawn_readings). Not an I or an l: those are
    the one glyph _read_as_il reads."""
    drawn = {}
    for letter, char in _confusables(marked=False) + _confusables(marked=True) + _drawn_by_hand():
        if letter.isalpha() and letter not in "IiLl" and unicodedata.category(char)[0] == "L" \
                and name_key(char) != name_key(letter):
            drawn.setdefault(char, letter)  # drawn as a plain letter rather than as one with a mark
    return drawn


# Small letters drawn as a Latin one that the confusables don't say, their capitals not: a small omega is
# drawn as a w, its capital Ω as no letter; an insular s as the long s it is, an f, as well as folded, an s
# ("ωendy Walker", "Bob Okaꞅor" passed for Wendy Walker and Bob Okafor: a re-check attacker).
_DRAWN_BY_HAND = {"ω": "w", "ꞅ": "f"}


def _drawn_by_hand() -> list:
    """(letter, character) for _DRAWN_BY_HAND's letters and the letters the confusables draw as them ("ⲱ")."""
    from confusable_homoglyphs.confusables import confusables_data

    return [(letter, glyph) for char, letter in _DRAWN_BY_HAND.items()
            for glyph in [char] + [homoglyph["c"] for homoglyph in confusables_data.get(char, ())] if len(glyph) == 1]


def _confusables(marked: bool) -> list:
    """(prototype, character) for each character Unicode's confusables draw as one ASCII letter, digit or
    punctuation mark; or, when marked, as one ASCII letter with marks ("d̔" for "ɗ": the letter, "d")."""
    from confusable_homoglyphs.confusables import confusables_data

    def single(glyph):  # the data wraps right-to-left letters in left-to-right marks
        glyph = glyph.replace("\u200e", "").replace("\u200f", "")
        return glyph if len(glyph) == 1 and not glyph.isascii() else ""

    if marked:
        prototypes = sorted(key for key in confusables_data
                            if len(key) > 1 and len(_unmarked(key)) == 1 and _unmarked(key) in string.ascii_letters)
    else:
        prototypes = [key for key in string.ascii_letters + string.digits + string.punctuation
                      if key in confusables_data]
    return [(_unmarked(prototype), char) for prototype in prototypes
            for char in (single(homoglyph["c"]) for homoglyph in confusables_data[prototype]) if char]


# The blocks of Latin letters beyond those whose accents Unicode decomposes (Extended-B to -G, IPA, the
# phonetic extensions), and how their names spell a letter with a mark drawn on it, or a letter as another
# hand draws it: the insular d, f, g, r, s and t of Irish and Old English writing, a script r, a dotless j, a
# broken l ("Carol Linꝺ", "Bob Okaꝼor", "Bob Okafoꞃ" passed for Carol Lind and Bob Okafor: a re-check
# attacker). Not a turned, reversed or sideways one: those draw as another letter or none (a turned m is a w).
_LATIN_BLOCKS = ((0x180, 0x2B0), (0x1D00, 0x1DC0), (0x2C60, 0x2C80), (0xA720, 0xA800), (0xAB30, 0xAB70),
                 (0x1DF00, 0x1E000))
_LETTER_WITH_A_MARK = re.compile(r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z]) WITH ")
_LETTER_IN_A_HAND = re.compile(r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?(?:(?:CLOSED )?INSULAR |SCRIPT "
                               r"|DOTLESS |BROKEN |BARRED |VISIGOTHIC |ANGLICANA |SIGMOID |MIDDLE SCOTS "
                               r"|MIDDLE-WELSH |OLD POLISH )?([A-Z])$")


def _latin_letters_with_marks() -> list:
    """(letter, character) for the Latin letters named as a letter with a hook, stroke, curl, tail or belt
    ("ȡ", "ɬ", "ƈ": the confusables leave out many), or as a letter in another hand or a small capital
    ("ꝺ", insular d; "ꭋ", script r; "ꞯ"), each read as that letter, as an accented one is."""
    found = []
    for first, end in _LATIN_BLOCKS:
        for char in map(chr, range(first, end)):
            name = unicodedata.name(char, "")
            if spelled := _LETTER_WITH_A_MARK.match(name) or _LETTER_IN_A_HAND.fullmatch(name):
                found.append((spelled.group(1).lower(), char))
    return found


def _unmarked(text: str) -> str:
    """text without its combining marks ("d̔" as "d")."""
    return "".join(char for char in unicodedata.normalize("NFD", text) if unicodedata.category(char) != "Mn")


def _is_latin_letter(char: str) -> bool:
    """True for a letter of the Latin script ("ǃ", the retroflex click): the letters of other scripts that
    look like punctuation (Hebrew's yod, Katakana's ノ) are letters of the name."""
    return unicodedata.category(char)[0] == "L" and unicodedata.name(char, "").startswith("LATIN ")


@functools.lru_cache(maxsize=8192)  # named_like reads every member's name: decide each character once
def _drawn_as(char: str) -> str:
    """char as a reader of a name sees it: a space for a gap (a space, a letter that draws as a blank,
    punctuation and symbols, and the modifier letters that mark a word rather than spell it:
    apostrophes and the ʻokina, length and tone marks, those below U+0800 and Latin's tone letters;
    the iteration marks of other scripts, 々, ー, ๆ, are letters of the name), nothing for an invisible
    character, else char."""
    category = unicodedata.category(char)
    if category == "Me":  # a mark drawn around its letter ("A҉l҉i҉c҉e҉", "A⃝d⃝m⃝i⃝n⃝"): the letter reads through it
        return ""
    if (char.isspace() or char in BLANK_LETTERS or category[0] in "PS"
            or category == "Lm" and (char < "\u0800" or "\ua700" <= char < "\ua800")):
        return " "
    return "" if category == "Cf" or DEFAULT_IGNORABLE.match(char) else char


def name_key(name) -> str:
    """What a name looks like, to tell two names apart: compatibility forms folded (NFKC: "Ｄａｖｅ" is
    "Dave"), case folded, invisible characters left out ("Adm\u034fin" is "admin"), letters that draw
    as a blank read as a space ("Tia\u3164Talent" is "tia talent"), and so do punctuation, symbols and
    modifier letters (another member's name with a mark added is still theirs: "Bob_Okafor", "Ada
    Admin.", "Alice Moreno ✓", "Ada Adminʼ" passed for them, outside testers) but a bar inside a word
    reads as the l it looks like ("A|ice"), runs of spaces as one; the accents of Latin, Greek and
    Cyrillic letters left out ("Alicé" and "ALİCE" are "alice", as a search finds them; and of a look-alike
    among letters that read as Latin, _without_accents; Greek's iota subscript is one, not an iota:
    _iota_subscript_as_a_mark) and letters of
    every other script drawn like a Latin one read as it (_look_alikes: "Аlice" with a Cyrillic А,
    "ꓮda" with a Lisu one), boxed and circled capitals too ("🅰🅳🅼🅸🅽"), and the signs folding
    would spell as letters as the symbols they are ("Sam Green™")."""
    return _name_key(name, _look_alikes())


def _name_key(name, look_alikes: dict) -> str:
    """name_key, reading other scripts' letters (and digits) by the look_alikes table given."""
    name = ("" if name is None else str(name)).translate(_ENCLOSED_CAPITALS)
    folded = _iota_subscript_as_a_mark(unicodedata.normalize("NFKC", _signs_as_gaps(name))).casefold()
    folded = _BAR_IN_A_WORD.sub("l", folded)
    visible = "".join(map(_drawn_as, folded))
    return " ".join(_without_accents(visible).translate(look_alikes).split())


def different_numbers(name, other) -> bool:
    """Whether two names have different digits in one place, read letter for letter with their spaces left
    out (name_key, its digits kept): "Flat 6" and "Flat 9", "Buyer Number6" and "Buyer Number8" are other
    numbers, not look-alikes, though a 6, 8 or 9 is drawn like a letter (a marketplace's tester read them so
    refused). A digit in place of a letter still reads as the letter ("Carl Jone5", "S4m Gr33n")."""
    mine, theirs = (_name_key(each, _look_alikes_but_digits()).replace(" ", "") for each in (name, other))
    return len(mine) == len(theirs) and any(
        one != another and one in string.digits and another in string.digits for one, another in zip(mine, theirs))


@functools.cache
def _look_alikes_but_digits() -> dict:
    """_look_alikes without the digits' own readings (different_numbers)."""
    return {code: reading for code, reading in _look_alikes().items() if chr(code) not in string.digits}


def _iota_subscript_as_a_mark(text: str) -> str:
    """text with Greek's iota subscript (U+0345, on its own or in "ᾳ", "ῃ", "ῳ") as the dot below it is drawn
    like: case folding spells it as a letter, an iota, so "Ad\u0345min" read as "adimin" and "Bob Okᾳfor" as
    "okaifor", and both passed for the admin and Bob Okafor (a re-check attacker). A mark, it is then left
    out as accents are (_without_accents)."""
    if text.isascii() or "\u0345" not in (decomposed := unicodedata.normalize("NFD", text)):
        return text
    return unicodedata.normalize("NFC", decomposed.replace("\u0345", "\u0323"))


# The one glyph most fonts draw for a capital I and a small l, in name_keys: each name reads it where it
# has either letter, so "AIice" and "Alice" share "a\ue000ice" while "Eli" and "Ell" share nothing.
# A private-use character: no folding in name_key changes it.
_IL_GLYPH = "\ue000"
# The other letter a character may be drawn as, read besides the first (LOOK_ALIKES): a 1 as an i, a 6 as
# a g, a 9 as a q, a turned v as the Λ of "ΛLICE", and a reversed E as the S a buyer took it for ("Ǝam
# Green" beside Sam Green: a marketplace's tester).
_SECOND_READINGS = str.maketrans({"1": "i", "6": "g", "9": "q", "ʌ": "a", "Ʌ": "A", "Ǝ": "S"})


@functools.lru_cache(maxsize=16384)  # named_like reads every member's names at each name chosen: fold each once
def name_keys(name) -> frozenset:
    """The ways a name may look (name_key): as written; with a capital I or a small l (and a bar in a
    word, or a 1) read as the one glyph fonts draw for both (_read_as_il); with "rn" read as an m
    ("Adrnin") and "cl" inside a word as a d ("Aclmin"); with a trade mark glued to a word left out
    ("Sam GreenTM"), the letters folding reads apart from their look read as drawn (_drawn_readings: "ſ"
    as an f as well as an s) and the second reading of a letter (_SECOND_READINGS); and with its spaces left out
    when each of its words has two letters or more ("AliceMoreno" passed for Alice Moreno: an outside
    tester; "Maryann" reads as "Mary Ann" too, while a letter standing alone, as in "Bo b", is seen:
    run_together reads those). Two names look alike when they share one."""
    name = "" if name is None else str(name)
    spellings = {name, _without_glued_marks(name), _marks_as_gaps(name)}
    spellings |= {reading for spelling in spellings for reading in _drawn_readings(spelling)}
    spellings |= {spelling.translate(_SECOND_READINGS) for spelling in spellings}
    keys = set().union(*map(_read_as_il, spellings))
    keys |= {key.replace("rn", "m") for key in keys if "rn" in key}
    keys |= {_CL_AS_D.sub("d", key) for key in keys if "cl" in key}
    keys |= {key.replace(" ", "") for key in keys if " " in key and min(map(len, key.split())) >= 2}
    return frozenset(key for key in keys if key)


# The letters drawn apart from their folding (_drawn_look_alikes) read each way in every combination up to
# this many different ones; a name with more reads them all as drawn, or all folded.
_DRAWN_CHOICES = 4


def _drawn_readings(name: str) -> set:
    """name with letters that look like another Latin letter than the one folding makes of them
    (_drawn_look_alikes: "ϲ", "ſ", "η", an accent on them too) read as that letter: some, each, or all
    of them, since a name may need one letter read as drawn and another as folded ("Aliϲe Moreνo")."""
    if name.isascii():
        return set()
    drawn = _drawn_look_alikes()
    letters = unicodedata.normalize("NFD", name)
    found = sorted({char for char in letters if char in drawn})
    if len(found) > _DRAWN_CHOICES:
        choices = [found]
    else:
        choices = [chosen for count in range(1, len(found) + 1) for chosen in itertools.combinations(found, count)]
    return {"".join(drawn[char] if char in chosen else char for char in letters) for chosen in choices}


@functools.lru_cache(maxsize=16384)
def run_together(name) -> frozenset:
    """The name_keys of a name of two words or more with its spaces left out, a letter standing alone too:
    two such names of the same letters look alike, whichever spaces were moved ("Sam Gree n", "Sa m
    Green" beside Sam Green: a marketplace's tester), while a one-word name beside one with a letter split
    off reads apart ("Bob", "Bo b")."""
    return frozenset(key.replace(" ", "") for key in name_keys(name) if " " in key)


def _read_as_il(name: str) -> set:
    """name_key of name as written; with its capitals drawn as an I and its small l's (_is_il) read as
    _IL_GLYPH ("lvy Lane" and "Ivy Lane" then read alike); and with each read as the letter its word
    makes of it (_letter_in_its_word: "ADMlN" as "admin", "AIice" as "alice")."""
    plain = name_key(name)
    at = [index for index, char in enumerate(name) if _is_il(name, index)]
    if not at:
        return {plain}
    chars = list(name)
    for index in at:
        chars[index] = _IL_GLYPH
    keys = {plain, name_key("".join(chars))}
    for index in at:
        chars[index] = _letter_in_its_word(name, index, at)
    if chars != list(name):
        keys.add(name_key("".join(chars)))
    return keys


def _is_il(name: str, index: int) -> bool:
    """Whether name[index] is drawn as a capital I and a small l are: one of them, a capital of any script
    or width read as an i (Greek Ι, Ukrainian І, Ⅰ, Ｉ, Ɩ: "AΙice Moreno" passed for Alice Moreno, a
    re-check tester), a letter read as a small l (Cyrillic ӏ), a 1, or a bar in a word ("A|ice")."""
    char = name[index]
    return char in "Il1" or _il_letter(char) or char in _BARS and _BAR_IN_A_WORD.match(name, index) is not None


@functools.lru_cache(maxsize=1024)
def _il_letter(char: str) -> bool:
    """Whether char, not ASCII, is a capital read as an i or a letter, not a capital, read as an l."""
    return not char.isascii() and name_key(char) == ("i" if char.isupper() else "l") and not char.isdigit()


def _letter_in_its_word(name: str, index: int, glyphs: list) -> str:
    """The letter a reader makes of the I-or-l glyph at name[index] from the other letters of its word
    (not the glyphs, which read either way): an I among two capitals or more and no small letter
    ("ADMlN", "NlNA"), or beginning a word of small letters ("lan Chen"); an l after a word's first
    letter among small letters ("AIice"); else as written. A small l among small letters stays an l
    ("Nell" isn't "Neil"), and a capital I beginning a word an I ("Ian" isn't "Lan")."""
    start, end = index, index + 1
    while start and name[start - 1].isalpha():
        start -= 1
    while end < len(name) and name[end].isalpha():
        end += 1
    others = [char for position, char in enumerate(name[start:end], start)
              if position not in glyphs and char.lower() != char.upper()]
    if name[index].isupper():
        return "l" if index > start and others and all(char.islower() for char in others[1:]) else name[index]
    if len(others) >= 2 and all(char.isupper() for char in others) \
            or index == start and others and all(char.islower() for char in others):
        return "I"
    return name[index]


# Apostrophes, the ʻokina and hyphens join a word as much as they split it: read apart only, "O'Connor"
# would be a name of two words that "Mary O'Connor" holds (holds_name).
_JOINING_MARKS = re.compile("['\u2018\u2019\u02bb\u02bc\u2010\u2011-]")


_DIGITS = re.compile(r"\d+")


def name_words(name) -> frozenset:
    """The sets of words name may be read as: those of each of its name_keys, with its apostrophes and
    hyphens read as gaps and as joins ("Mary O'Connor" as mary, o, connor and as mary, oconnor), and with
    its digits read apart from its letters too (_digits_apart)."""
    name = "" if name is None else str(name)
    readings = {name, _JOINING_MARKS.sub("", name)}
    readings |= {_digits_apart(reading, keep) for reading in readings for keep in (True, False)}
    return frozenset(frozenset(key.split()) for reading in readings for key in name_keys(reading))


def _digits_apart(name: str, keep_between_letters: bool) -> str:
    """name with each run of digits a word of its own ("AliceMoreno2" and "Alice2 Moreno" held Alice Moreno
    as "Alice Moreno 2" does: a marketplace's tester); when keep_between_letters, but a run between letters,
    which reads as the letters it is drawn like (LOOK_ALIKES: "A1ice Moreno2" as "A1ice Moreno 2", "Sam
    Gr33n2" as "Sam Gr33n 2")."""
    def apart(run):
        between = name[run.start() - 1:run.start()].isalpha() and name[run.end():run.end() + 1].isalpha()
        return run.group() if keep_between_letters and between else f" {run.group()} "
    return _DIGITS.sub(apart, name)


def holds_name(words, other) -> bool:
    """Whether a name of these words (name_words) holds every word of other, however spelled
    (name_keys) and in any order, when other has two words or more: "Alice Moreno (Elm St)", "Ms
    Alice Moreno" and "Moreno, Alice" passed for Alice Moreno in an inbox (outside testers), while
    "Bea Smith" is not Bea (a one-word name, its apostrophes and hyphens joining: "O'Connor"). Or
    when it is other shortened to initials: each of its words one of other's or that word's first
    letter, every word of other's there, one of them whole ("Alice M.", "A. Moreno": a re-check
    tester); a word of its own ("Ana B. Costa" beside "Ana Bela") makes it a name of its own."""
    return any(its <= candidate or _initials_of(candidate, its) for its in _whole_name_words(other) for candidate in words)


def _initials_of(candidate: frozenset, its: frozenset) -> bool:
    """Whether candidate is its with some words shortened to their first letter (holds_name)."""
    whole = candidate & its
    if not whole or len(candidate) != len(its):
        return False
    shortened, rest = candidate - whole, its - whole
    return len(shortened) == len(rest) and all(len(letter) == 1 for letter in shortened) \
        and sorted(shortened) == sorted(word[0] for word in rest)


def misspells_name(words, other) -> bool:
    """Whether a name of these words (name_words) is other with one word of four letters or more a letter
    apart (_one_letter_apart) and each other word the same, in any of its readings (name_keys: with its spaces
    left out too, so "Ads Admin" is "adsadmin"): "Ada Admon" beside Ada Admin (a marketplace's tester). For the
    admins' names only (User.named_like): Mark Smith and Mary Smith are both real people."""
    for its in {frozenset(key.split()) for key in name_keys(other)}:
        for candidate in words:
            mine, theirs = candidate - its, its - candidate
            if len(candidate) == len(its) and len(mine) == 1 == len(theirs):
                (word,), (their_word,) = mine, theirs
                if len(their_word) >= 4 and _one_letter_apart(word, their_word):
                    return True
    return False


@functools.lru_cache(maxsize=16384)
def _whole_name_words(name) -> tuple:
    """The sets of words holds_name looks for in another name: none for a one-word name."""
    joined = _JOINING_MARKS.sub("", "" if name is None else str(name))
    if len(name_key(joined).split()) < 2:
        return ()
    return tuple({frozenset(key.split()) for key in name_keys(joined)})


# Words that make a name read as the community's own staff ("Administrator", "WhiteBalloon Support"
# passed for a member's: outside testers); kept for the admins.
STAFF_WORDS = frozenset({"admin", "administrator", "moderator", "moderation", "mod", "staff", "support", "official",
                         "whiteballoon", "team", "helpdesk", "safety"})
# The long ones count misspelled by a letter too ("Admistrator", "Moderater" passed: a re-check tester), and
# so do these three ("Offical Helpdsk": a marketplace's tester), in a word of six letters or more. Not safety:
# Safet and Safeta are Bosnian names a letter from it (its slips, "Safty", "Saftey", are _STAFF_SKIMMED's).
_STAFF_MISSPELT = ("administrator", "moderator", "moderation", "whiteballoon", "official", "helpdesk", "support")
_MISSPELT_LENGTHS = frozenset(len(word) + change for word in _STAFF_MISSPELT for change in (-1, 0, 1)
                              if len(word) + change >= 6)
# Those of five letters or more read the same to an eye that skims with a letter left out ("Safty", "Admn",
# "Stff": an outside attacker) or two side by side swapped ("Amdin", "Saftey", "Tsaff"), and, in a word of five
# letters or more, with a letter doubled or undoubled ("Stafff", "Suport") or an m for an n ("Adnin", "Admim"):
# a marketplace's tester. Not with a letter changed: Admir, Admon and Safeta are names. Nor are mod and team,
# of three and four letters, read so: a letter off them makes words and names (Mood, Modd, Tea, Tam).
_STAFF_SKIMMED = tuple(sorted(word for word in STAFF_WORDS if len(word) >= 5))
# Real names (and a name's short form) a letter left out or two swapped from one of those, knowingly left
# free: Amin (Arabic, Persian), Adin (Hebrew, Bosnian) and Damin from admin; Staf (Flemish), Taff (Welsh)
# and Saff (Saffron's) from staff; Safet (Bosnian) from safety.
_NAMES_A_SLIP_FROM_STAFF = ("adin", "amin", "damin", "saff", "safet", "staf", "taff")
# The longer ones count at either end of a word too ("AdminTeam", "siteadmin"), where no name has them;
# "mod" and "staff" begin real names (Modupe, Stafford), and inside a word "admin" is badminton.
_STAFF_AT_AN_END = ("admin", "moderator", "support", "official", "whiteballoon")


# Signs written for letters in a staff word ("Adm!n", "$upport" passed: a re-check tester); read so for
# that word only, never for another member's name. Digits read as letters in every name (LOOK_ALIKES: "4dmin").
_LEET = str.maketrans({"@": "a", "!": "i", "$": "s"})


def sounds_like_staff(name) -> bool:
    """Whether a word of name, however spelled (name_keys: "Adrnin", "ＡＤＭＩＮ", "ADMlN"; its digits read as
    gaps too: "admin2"), or its letters spelled out one by one ("A d m i n", "S.T.A.F.F"), is one of
    STAFF_WORDS or its plural, or a slip from one (_staff_word: "Safty", "Stafff", "Moderater", "Aժmin"),
    or begins or ends with one of the longer ones; or all of it, its spaces
    left out, when that makes five letters or more ("S taff", "Admi n"; "Mo D" and "Tea M" are names)."""
    name = "" if name is None else str(name)
    keys = name_keys(name) | name_keys(re.sub(r"\d", " ", name)) | name_keys(name.translate(_LEET))
    joined = {key.replace(" ", "") for key in keys if " " in key}  # "Chad Min" as "chadmin": a word only whole
    anywhere, whole = set(), {word for word in joined if len(word) >= 5}  # its words, and those that count only whole
    for key in keys:
        words = key.split()
        (whole if key in joined else anywhere).update(words + _spelled_out(words))
    return any(_staff_word(word, at_an_end=True) for word in anywhere) \
        or any(_staff_word(word, at_an_end=False) for word in whole - anywhere)


def _spelled_out(words: list) -> list:
    """The words that runs of two letters or more standing alone spell ("a d m i n" as "admin"), those of
    four letters or more, or all of a name: initials don't spell one ("J. R. R. Tolkien", "M. O. D. Smith")."""
    runs, run = [], ""
    for word in words + [""]:
        if len(word) == 1:
            run += word
            continue
        if len(run) >= 4 or len(run) >= 2 and len(run) == len(words):
            runs.append(run)
        run = ""
    return runs


def _staff_word(word: str, at_an_end: bool) -> bool:
    """Whether word is one of STAFF_WORDS or its plural, one of _STAFF_MISSPELT misspelled by a letter, one of
    _STAFF_SKIMMED or its plural as a skimming eye reads it (_skims_as_staff), one of STAFF_WORDS but for a
    letter no table reads (_staff_but_an_unread_letter), or (when at_an_end) begins or ends with one of the
    longer ones; each with any i or l drawn as _IL_GLYPH ("Admln")."""
    singular = word.removesuffix("s")
    return word in _staff_spellings(STAFF_WORDS) or singular in _staff_spellings(STAFF_WORDS) \
        or len(word) in _MISSPELT_LENGTHS \
        and any(_one_letter_apart(word, staff) for staff in _staff_spellings(_STAFF_MISSPELT)) \
        or _skims_as_staff(word) or _skims_as_staff(singular) \
        or _staff_but_an_unread_letter(word) or _staff_but_an_unread_letter(singular) \
        or at_an_end and (word.startswith(_staff_spellings(_STAFF_AT_AN_END))
                          or word.endswith(_staff_spellings(_STAFF_AT_AN_END)))


def _skims_as_staff(word: str) -> bool:
    """Whether word is one of _STAFF_SKIMMED with a letter left out or two side by side swapped
    (_staff_slips), or, of five letters or more, with letters doubled or undoubled and m and n read alike
    (_skimmed)."""
    return word in _staff_slips() or len(word) >= 5 and _skimmed(word) in _skimmed_staff()


@functools.cache
def _staff_slips() -> frozenset:
    """_STAFF_SKIMMED (with any i or l as _IL_GLYPH too) with one letter left out or two side by side swapped,
    but the names among them (_NAMES_A_SLIP_FROM_STAFF)."""
    slips = set()
    for staff in _staff_spellings(_STAFF_SKIMMED):
        slips.update(staff[:at] + staff[at + 1:] for at in range(len(staff)))
        slips.update(staff[:at] + staff[at + 1] + staff[at] + staff[at + 2:] for at in range(len(staff) - 1))
    return frozenset(slips.difference(_staff_spellings(_NAMES_A_SLIP_FROM_STAFF)))


def _staff_but_an_unread_letter(word: str) -> bool:
    """Whether word, of four letters or more, is one of STAFF_WORDS but for one letter, among letters that all
    read as Latin ones, that no table reads as a Latin letter ("Aժmin", Armenian zhe; "ᎪᎠᎷᎥᏁ", Cherokee ne:
    an outside attacker): drawn among them, it passes for the letter it stands in for. A Latin letter
    changed is a name of its own (Admir, Admon). A mark on the unread letter reads as no letter ("ᎪᎠᎷᎥᏁ\u0345")."""
    word = "".join(char for char in word if unicodedata.category(char) != "Mn")
    unread = [at for at, char in enumerate(word) if not char.isascii() and char != _IL_GLYPH]
    if len(word) < 4 or len(unread) != 1 or not word[unread[0]].isalpha():
        return False
    before, after = word[:unread[0]], word[unread[0] + 1:]
    return any(len(staff) == len(word) and staff.startswith(before) and staff.endswith(after)
               for staff in _staff_spellings(STAFF_WORDS))


def _skimmed(word: str) -> str:
    """word as an eye that skims it reads it: an n as an m, a letter doubled (or more) as one."""
    return re.sub(r"(.)\1+", r"\1", word.replace("n", "m"))


@functools.cache
def _skimmed_staff() -> frozenset:
    """_STAFF_SKIMMED (with any i or l as _IL_GLYPH too) as _skimmed reads them."""
    return frozenset(map(_skimmed, _staff_spellings(_STAFF_SKIMMED)))


@functools.cache
def _staff_spellings(words) -> tuple:
    """words, each also with any of its i's and l's as _IL_GLYPH: as a capital I draws them ("AdmIn")."""
    spellings = set()
    for word in words:
        forms = [""]
        for char in word:
            forms = [form + reading for form in forms for reading in ((char, _IL_GLYPH) if char in "il" else char)]
        spellings.update(forms)
    return tuple(sorted(spellings))


def _one_letter_apart(word: str, other: str) -> bool:
    """Whether word is other with one letter left out, added or changed, or two letters side by side swapped
    (a typo's edit distance of one: "Saftey", "Supprot")."""
    if abs(len(word) - len(other)) > 1 or word == other:
        return False
    if len(word) == len(other):
        return sum(a != b for a, b in zip(word, other)) == 1 or _swapped(word, other)
    shorter, longer = sorted((word, other), key=len)
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


def _swapped(word: str, other: str) -> bool:
    """Whether word is other with two letters side by side swapped, and nothing else changed."""
    apart = [index for index, (a, b) in enumerate(zip(word, other)) if a != b]
    return len(word) == len(other) and len(apart) == 2 and apart[1] == apart[0] + 1 \
        and word[apart[0]] == other[apart[1]] and word[apart[1]] == other[apart[0]]


def _without_accents(text: str) -> str:
    """text with the marks on Latin, Greek and Cyrillic letters left out, and those on another script's
    letters that a look-alike table reads as Latin ones in a word whose letters all read as Latin ("Mօ́reno"
    with an Armenian o, "Ꭺ́dmin" with a Cherokee A passed while "Móreno" didn't: a re-check attacker). Those
    of other scripts' words, as Devanagari's vowel signs, Hebrew's points or Burmese vowels on a letter drawn
    like an o, are letters of the name: kept."""
    if text.isascii():
        return text
    table, words = _look_alikes(), []
    for word in unicodedata.normalize("NFKD", text).split(" "):
        kept, base, latin = [], "", None
        for char in word:
            if unicodedata.category(char) != "Mn":
                base = char
            elif base < "\u0530":  # Latin, Greek, Cyrillic (and their extensions below Armenian)
                continue
            elif ord(base) in table:  # a look-alike, among letters that all read as Latin
                if latin is None:
                    latin = all(_reads_as_latin(letter, table) for letter in word
                                if unicodedata.category(letter) != "Mn")
                if latin:
                    continue
            kept.append(char)
        words.append("".join(kept))
    return unicodedata.normalize("NFC", " ".join(words))


def _reads_as_latin(char: str, table: dict) -> bool:
    """Whether name_key reads char (folded, its accents apart) as a Latin letter: itself one, a look-alike of
    one, or the I-or-l glyph."""
    reading = table.get(ord(char), char)
    return char == _IL_GLYPH or reading.isascii() and reading.isalnum()


def one_line(text) -> str:
    """text with every line break, control character and direction control as a space, for drawing a
    name stored before names were one line where a line break would read as the app's own line."""
    text = "" if text is None else str(text)
    for rule in (LINE_BREAKS, CONTROL_CHARACTERS, BIDI_CONTROLS):
        text = rule.sub(" ", text)
    return SPACES.sub(" ", text).strip()


def _folding_table() -> tuple[str, str]:
    """The letters a name search ignores the accents of (and the case of, whatever a database's
    locale): Latin letters with a mark, as their plain lower-case letter ("Ø" and "ø" as "o",
    "É" as "e"), one character for one, so PostgreSQL's translate() can do the same in SQL."""
    special = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "ħ": "h", "ŧ": "t"}
    letters, plain = [], []
    for code in range(0xC0, 0x180):
        char = chr(code)
        lower = char.lower()
        if len(lower) != 1:
            continue
        base = special.get(lower) or unicodedata.normalize("NFKD", lower)[0]
        if base.isascii() and base.isalpha() and base != lower:
            letters.append(char)
            plain.append(base)
    return "".join(letters), "".join(plain)


# Marks a name search leaves out, so that "osullivan" finds O'Sullivan and "adebayookonkwo"
# Adebayo-Okonkwo: apostrophes, hyphens, dots. After the letters in FOLD_FROM, with nothing for them in
# FOLD_TO, PostgreSQL's translate() drops them as str.translate does.
SEARCH_IGNORED = "'\u2019\u2018\u02bc-\u2010\u2011\u2013.\u00b7"
_LETTERS_FROM, FOLD_TO = _folding_table()
FOLD_FROM = _LETTERS_FROM + SEARCH_IGNORED
_FOLD = str.maketrans(_LETTERS_FROM, FOLD_TO, SEARCH_IGNORED)


def search_folded(text) -> str:
    """text as a name search compares it: lower case, accents, apostrophes, hyphens and dots left out
    ("Zoë O'Dégård" as "zoe odegard"). database.folded() does the same in SQL."""
    return ("" if text is None else str(text)).lower().translate(_FOLD)

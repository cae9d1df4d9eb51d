"""Redaction of personal data and secrets from text, before an exemplar is stored.

The weekly report shows short snippets of real conversations so that a policy reviewer can see
what a drift looks like. Those snippets are stored, so everything that identifies a person or
opens a system is replaced first by a typed placeholder:

===============  =======================================================================
placeholder      what it replaces
===============  =======================================================================
``[EMAIL]``      e-mail addresses
``[PHONE]``      phone numbers, international (``+44 20 7946 0958``) and national formats
``[CARD]``       payment card numbers (13-19 digits, Luhn-checked)
``[NATIONAL_ID]``  US SSN, UK NINO, ES DNI/NIE, FR INSEE (NIR), DE Steuer-ID (checksummed
                 where the format has a check digit or letter)
``[API_KEY]``    provider keys: ``sk-...``, ``AKIA...``, ``ghp_...``, ``xoxb-...``, ``AIza...``
``[TOKEN]``      JWTs and ``Bearer`` tokens
``[SECRET]``     private key blocks, ``password=...``-style values, long hex/base64 strings
``[IP]``         IPv4 and IPv6 addresses
``[ADDRESS]``    street addresses: a number and a street type, in English, Spanish, French
                 and German
===============  =======================================================================

Patterns run in a fixed order (most specific first) and the whole pass repeats until the text
stops changing, so a replacement can never expose a new match: ``redact`` is idempotent. It
errs on the side of redacting: a version number such as ``1.2.3.4`` reads as an IP address.

>>> redact("Mail jane.doe@example.org or call +33 6 12 34 56 78, card 4111 1111 1111 1111.")
'Mail [EMAIL] or call [PHONE], card [CARD].'
>>> redact("Authorization: Bearer abcdef0123456789abcdef")
'Authorization: Bearer [TOKEN]'
>>> redact("Nothing personal here, just 3 apples.")
'Nothing personal here, just 3 apples.'
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PLACEHOLDERS", "luhn_ok", "redact", "snippet"]

PLACEHOLDERS: tuple[str, ...] = (
    "[EMAIL]",
    "[PHONE]",
    "[CARD]",
    "[NATIONAL_ID]",
    "[API_KEY]",
    "[TOKEN]",
    "[SECRET]",
    "[IP]",
    "[ADDRESS]",
)
_MAX_PASSES = 4


@dataclass(frozen=True)
class _Rule:
    """One pattern; ``keep`` names a group kept in front of the placeholder (e.g. 'Bearer ')."""

    placeholder: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    keep: str | None = None


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def luhn_ok(number: str) -> bool:
    """True if the digits of ``number`` pass the Luhn check used by payment cards.

    >>> luhn_ok("4111 1111 1111 1111"), luhn_ok("4111 1111 1111 1112")
    (True, False)
    """
    digits = [int(c) for c in _digits(number)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return bool(digits) and total % 10 == 0


def _card(text: str) -> bool:
    return 13 <= len(_digits(text)) <= 19 and luhn_ok(text)


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _dni(text: str) -> bool:
    """Spanish DNI (8 digits) or NIE (X/Y/Z + 7 digits), with the check letter verified."""
    compact = re.sub(r"[\s-]", "", text).upper()
    head, letter = compact[:-1], compact[-1]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == letter


def _insee(text: str) -> bool:
    """French NIR: 13 characters (Corsica 2A/2B) and a 2-digit key = 97 - number mod 97."""
    compact = re.sub(r"\s", "", text).upper()
    body, key = compact[:13], compact[13:]
    body = body.replace("2A", "19").replace("2B", "18")
    return body.isdigit() and key.isdigit() and 97 - int(body) % 97 == int(key)


def _steuer_id(text: str) -> bool:
    """German tax id: 11 digits, the last an ISO 7064 MOD 11,10 check digit."""
    digits = _digits(text)
    if len(digits) != 11 or digits[0] == "0":
        return False
    product = 10
    for c in digits[:10]:
        total = (int(c) + product) % 10 or 10
        product = total * 2 % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(digits[10])


def _phone(text: str) -> bool:
    return 8 <= len(_digits(text)) <= 15


def _ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.split("%")[0])
    except ValueError:
        return False
    groups = [group for group in text.split("%")[0].split(":") if group]
    return len(groups) >= 2 and sum(len(group) for group in groups) >= 4


def _high_entropy(text: str) -> bool:
    """A long run of letters and digits that mixes them like generated keys do."""
    has_digit = any(c.isdigit() for c in text)
    if re.fullmatch(r"[0-9a-fA-F]+", text):
        return has_digit and any(c.isalpha() for c in text)
    return has_digit and any(c.islower() for c in text) and any(c.isupper() for c in text)


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_CAP = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"  # a capitalised word (street names)
_SEP = r"[\s.-]"

_RULES: tuple[_Rule, ...] = (
    _Rule(
        "[SECRET]",
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"
        ),
    ),
    _Rule("[TOKEN]", re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*")),
    _Rule(
        "[API_KEY]",
        re.compile(
            r"\b(?:sk-(?:proj-|live-|test-|ant-)?[\w-]{16,}"
            r"|[spr]k_(?:live|test)_[A-Za-z0-9]{16,}"
            r"|(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"
            r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{22,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|AIza[\w-]{35})"
        ),
    ),
    _Rule("[TOKEN]", re.compile(r"(?P<keep>\b(?i:bearer)\s+)[\w.~+/=-]{16,}"), keep="keep"),
    _Rule(
        "[SECRET]",
        re.compile(
            r"(?P<keep>\b(?i:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|"
            r"client[_-]?secret|contraseña|mot de passe|passwort)\s*[:=]\s*)"
            r"(?!\[SECRET\])[^\s,;]+"
        ),
        keep="keep",
    ),
    _Rule("[EMAIL]", re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")),
    # FR INSEE (NIR), before the other long digit runs: sex, year, month, department, ...
    _Rule(
        "[NATIONAL_ID]",
        re.compile(
            r"\b[12]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}"
            r"\s?\d{2}\b"
        ),
        _insee,
    ),
    _Rule("[CARD]", re.compile(r"(?<![\d.])\d(?:[ -]?\d){12,18}(?![\d.]\d)"), _card),
    # US SSN (with separators; never 000/666/9xx, 00, 0000)
    _Rule(
        "[NATIONAL_ID]",
        re.compile(r"\b(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}\b"),
    ),
    # UK National Insurance number
    _Rule(
        "[NATIONAL_ID]",
        re.compile(
            r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TSW-Z][A-CEGHJ-NPR-TW-Z]"
            r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b"
        ),
    ),
    # ES DNI / NIE
    _Rule(
        "[NATIONAL_ID]",
        re.compile(r"\b(?:\d{8}|[XYZxyz][\s-]?\d{7})[\s-]?[A-Za-z]\b"),
        _dni,
    ),
    # DE Steuer-ID (11 digits, optionally grouped 2-3-3-3)
    _Rule("[NATIONAL_ID]", re.compile(r"\b[1-9]\d(?: ?\d{3}){3}\b"), _steuer_id),
    _Rule(
        "[IP]",
        re.compile(
            r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
            r"(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4}|:)?(?:%\w+)?"
        ),
        _ipv6,
    ),
    _Rule("[IP]", re.compile(rf"(?<![\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\d]|\.\d)")),
    # Phones: international with +, NANP, then national numbers with a trunk 0 or ES 6/7/8/9.
    _Rule(
        "[PHONE]",
        re.compile(
            rf"(?<![\w+])\+\d{{1,3}}{_SEP}?(?:\(0?\d{{1,4}}\){_SEP}?)?\d{{1,4}}"
            rf"(?:{_SEP}?\d{{2,4}}){{1,5}}(?!\d)"
        ),
        _phone,
    ),
    _Rule("[PHONE]", re.compile(r"(?:\(\d{3}\)\s?|(?<![\w.-])\d{3}[-.\s])\d{3}[-.\s]\d{4}\b")),
    _Rule(
        "[PHONE]",
        re.compile(r"(?<![\w.-])0\d{1,4}(?:[\s./-]?\d{2,4}){2,4}\b"),
        lambda t: 9 <= len(_digits(t)) <= 12,
    ),
    _Rule(
        "[PHONE]",
        re.compile(
            r"(?<![\w.-])(?:[6789]\d{2}(?:\s\d{3}\s\d{3}|\s\d{2}\s\d{2}\s\d{2})"
            r"|[89]\d\s\d{3}\s\d{2}\s\d{2})\b"
        ),
    ),
    # Street addresses. en: "221B Baker Street", "1600 Pennsylvania Ave NW"
    _Rule(
        "[ADDRESS]",
        re.compile(
            rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:{_CAP}\s+){{1,4}}(?i:street|st|avenue|ave|road|rd|"
            r"boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|square|sq|highway|"
            r"hwy|parkway|pkwy|close|crescent|row|mews)\b(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
        ),
    ),
    # es: "Calle Mayor 12", "C/ Alcalá, 45", "Avenida de la Constitución nº 3"
    _Rule(
        "[ADDRESS]",
        re.compile(
            r"(?:\b(?i:calle|avenida|avda\.?|av\.|paseo|plaza|pza\.|camino|carretera|ronda|"
            r"travesía|glorieta)|\b[Cc]/)\s*(?:(?:de|del|la|las|los|el)\s+)*"
            rf"{_CAP}(?:\s+(?:(?:de|del|la|las|los|y)\s+)*{_CAP}){{0,3}},?\s+(?:n[ºo°]\.?\s*)?"
            r"\d{1,5}\b"
        ),
    ),
    # fr: "12 rue de la Paix", "5 bis avenue des Champs-Élysées", "8, boulevard Haussmann"
    _Rule(
        "[ADDRESS]",
        re.compile(
            r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|allée|"
            r"impasse|chemin|quai|cours|route|square)\s+(?:(?:de la|de l'|des|du|de|d'|l'|la|le"
            r"|les)\s*)?[\w'’-]+(?:\s+[A-ZÀ-Þ][\w'’-]*){0,3}"
        ),
    ),
    # de: "Hauptstraße 5", "Berliner Str. 12a", "Am Mühlenweg 3", "Karl-Marx-Allee 90"
    _Rule(
        "[ADDRESS]",
        re.compile(
            r"\b(?:[A-ZÄÖÜ][\wäöüß-]*\s)?[A-ZÄÖÜ][\wäöüß-]*"
            r"(?i:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee)"
            r"\s?\d{1,4}\s?[a-z]?\b"
            r"|\b[A-ZÄÖÜ][\wäöüß-]*\s(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm)"
            r"\s\d{1,4}\s?[a-z]?\b"
        ),
    ),
    _Rule("[SECRET]", re.compile(r"(?<![\w+/-])[A-Za-z0-9+/_-]{32,}={0,2}"), _high_entropy),
)


def _apply(rule: _Rule, text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if rule.check is not None and not rule.check(match.group(0)):
            return match.group(0)
        prefix = match.group(rule.keep) if rule.keep else ""
        return prefix + rule.placeholder

    return rule.pattern.sub(replace, text)


def redact(text: str) -> str:
    """``text`` with personal data and secrets replaced by typed placeholders (see module)."""
    for _ in range(_MAX_PASSES):
        before = text
        for rule in _RULES:
            text = _apply(rule, text)
        if text == before:
            break
    return text


def snippet(text: str, limit: int = 240, window: int = 4096) -> str:
    """A short redacted excerpt: redact the first ``window`` characters, keep ``limit``.

    Redaction runs before truncation so a secret is never cut in half and left readable.
    When the window itself had to cut the text, the last 64 characters are dropped too: the
    cut may have split a secret there.

    >>> snippet("Write to me at ana@example.es please, thanks!", limit=30)
    'Write to me at [EMAIL] please…'
    """
    if limit <= 0:
        return ""
    cut = len(text) > window
    clean = redact(text[:window])
    if cut:
        clean = clean[: max(0, len(clean) - 64)]
    clean = " ".join(clean.split())
    if len(clean) <= limit and not cut:
        return clean
    head = clean[:limit]
    mid_word = len(clean) > limit and not clean[limit].isspace()
    if mid_word and " " in head[limit // 2 :]:
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,;:") + "…"

"""Redaction of exemplars: a table of real-world formats, then hypothesis properties."""

from __future__ import annotations

import ipaddress
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.redact import PLACEHOLDERS, luhn_ok, redact, snippet

# (text as people write it, placeholder it must become)
REAL_WORLD = [
    # e-mail
    ("jane.doe@example.org", "[EMAIL]"),
    ("o'brien+newsletter@mail.co.uk", "[EMAIL]"),
    ("josé.garcía@correo.es", "[EMAIL]"),
    ("USER_123@Sub.Domain.museum", "[EMAIL]"),
    # phones, international
    ("+1 (415) 555-0132", "[PHONE]"),
    ("+44 20 7946 0958", "[PHONE]"),
    ("+33 6 12 34 56 78", "[PHONE]"),
    ("+34 612 345 678", "[PHONE]"),
    ("+49 30 12345678", "[PHONE]"),
    ("+49 (0)30 1234 5678", "[PHONE]"),
    ("+4915123456789", "[PHONE]"),
    # phones, national
    ("(415) 555-0132", "[PHONE]"),
    ("415-555-0132", "[PHONE]"),
    ("415.555.0132", "[PHONE]"),
    ("020 7946 0958", "[PHONE]"),
    ("07700 900123", "[PHONE]"),
    ("06 12 34 56 78", "[PHONE]"),
    ("01.23.45.67.89", "[PHONE]"),
    ("030 12345678", "[PHONE]"),
    ("0151/23456789", "[PHONE]"),
    ("612 345 678", "[PHONE]"),
    ("91 123 45 67", "[PHONE]"),
    # payment cards (test numbers of the card networks)
    ("4111 1111 1111 1111", "[CARD]"),
    ("4012888888881881", "[CARD]"),
    ("5555-5555-5555-4444", "[CARD]"),
    ("3782 822463 10005", "[CARD]"),
    ("378282246310005", "[CARD]"),
    ("6011111111111117", "[CARD]"),
    ("3056 9309 0259 04", "[CARD]"),
    # national ids
    ("078-05-1120", "[NATIONAL_ID]"),
    ("123 45 6789", "[NATIONAL_ID]"),
    ("AB 12 34 56 C", "[NATIONAL_ID]"),
    ("JG103759A", "[NATIONAL_ID]"),
    ("12345678Z", "[NATIONAL_ID]"),
    ("12345678-z", "[NATIONAL_ID]"),
    ("X1234567L", "[NATIONAL_ID]"),
    ("Y-1234567-X", "[NATIONAL_ID]"),
    ("2 55 08 14 168 025 38", "[NATIONAL_ID]"),
    ("184127645108946", "[NATIONAL_ID]"),
    ("86095742719", "[NATIONAL_ID]"),
    ("47 036 892 816", "[NATIONAL_ID]"),
    # keys and tokens
    ("sk-proj-4fGh7JkL9mNpQrStUvWx2yZa", "[API_KEY]"),
    ("sk-ant-api03-abcdefghij0123456789", "[API_KEY]"),
    ("sk_live_51HbC3dEfGhIjKlMnOpQr", "[API_KEY]"),
    ("AKIAIOSFODNN7EXAMPLE", "[API_KEY]"),
    ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "[API_KEY]"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[API_KEY]"),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "[API_KEY]"),
    ("AIzaSyA-1234567890abcdefghijklmnopqrstu", "[API_KEY]"),
    (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9l"
        "IiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "[TOKEN]",
    ),
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "[SECRET]"),
    ("5f4dcc3b5aa765d61d8327deb882cf99", "[SECRET]"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAKC\n-----END RSA PRIVATE KEY-----", "[SECRET]"),
    # IP addresses
    ("192.168.1.20", "[IP]"),
    ("8.8.8.8", "[IP]"),
    ("2001:db8::8a2e:370:7334", "[IP]"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[IP]"),
    ("fe80::1ff:fe23:4567:890a%eth0", "[IP]"),
    ("::ffff:192.0.2.128", "[IP]"),
    # street addresses
    ("221B Baker Street", "[ADDRESS]"),
    ("1600 Pennsylvania Avenue NW", "[ADDRESS]"),
    ("350 Fifth Ave", "[ADDRESS]"),
    ("Calle Mayor 12", "[ADDRESS]"),
    ("C/ Alcalá, 45", "[ADDRESS]"),
    ("Avenida de la Constitución nº 3", "[ADDRESS]"),
    ("12 rue de la Paix", "[ADDRESS]"),
    ("5 bis avenue des Champs-Élysées", "[ADDRESS]"),
    ("8, boulevard Haussmann", "[ADDRESS]"),
    ("Hauptstraße 5", "[ADDRESS]"),
    ("Berliner Str. 12a", "[ADDRESS]"),
    ("Karl-Marx-Allee 90", "[ADDRESS]"),
    ("Am Mühlenweg 3", "[ADDRESS]"),
]

KEPT = [
    "Meet me at 10:30 on 2025-03-01, or 14:45:00 at the latest.",
    "It costs €1,299.99 (about $1,400) and 20 % VAT.",
    "Python 3.11 and version 2.4 came out; see RFC 3339 and ISO 9001.",
    "Chapter 12, page 345: between 100 and 200 people, in 1984.",
    "Order #12345 shipped; room 101; 5G networks; 3 cats and 2 dogs.",
    "I walked 5 miles down the road, then 2 km along the river.",
    "Use std::vector<int> and a::b in C++.",
    "The card 4111 1111 1111 1112 fails the Luhn check.",
    "Was ist die Hauptstadt von Frankreich? ¿Dónde está la biblioteca? Où est la gare ?",
    "password reset instructions are on the help page",
    "Temperature 21.5 °C, humidity 40%, wind 12 km/h.",
]


@pytest.mark.parametrize(("value", "placeholder"), REAL_WORLD, ids=[v for v, _ in REAL_WORLD])
def test_real_world_formats_are_replaced(value: str, placeholder: str) -> None:
    assert redact(f"Details: {value}. Thanks") == f"Details: {placeholder}. Thanks"


@pytest.mark.parametrize("text", KEPT)
def test_text_without_personal_data_is_kept(text: str) -> None:
    assert redact(text) == text


def test_context_around_a_secret_is_kept() -> None:
    text = "Authorization: Bearer abcdef0123456789abcdef\npassword=hunter2!, ok"
    assert redact(text) == "Authorization: Bearer [TOKEN]\npassword=[SECRET], ok"


def test_a_snippet_is_short_and_redacted() -> None:
    text = "Please send it to ana@example.es. " + "word " * 200
    cut = snippet(text, limit=60)
    assert len(cut) <= 61 and cut.endswith("…") and "[EMAIL]" in cut and "@" not in cut
    assert snippet("short", limit=60) == "short"
    assert snippet("anything", limit=0) == ""


def test_a_secret_cut_by_the_window_is_not_left_readable() -> None:
    text = "x " * 10 + "4111 1111 1111 1111"
    cut = snippet(text, limit=200, window=len(text) - 5)
    assert "4111" not in cut and "1111" not in cut


# --- properties -----------------------------------------------------------------------------

WORD = st.text(alphabet=string.ascii_letters + "éèàñüößç", min_size=1, max_size=12)
SEPARATOR = st.sampled_from([" ", ", ", ". ", "! ", "? ", "; ", " - ", "\n", " (", ") ", "'"])
PROSE = st.lists(st.tuples(WORD, SEPARATOR), max_size=30).map(
    lambda parts: "".join(w + s for w, s in parts)
)


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError("unreachable: one check digit always works")


def _grouped(digits: str, size: int, sep: str) -> str:
    return sep.join(digits[i : i + size] for i in range(0, len(digits), size))


ALNUM = string.ascii_letters + string.digits
EMAILS = st.builds(
    lambda user, host, tld: f"{user}@{host}.{tld}",
    st.text(alphabet=ALNUM + "._+-", min_size=1, max_size=20).filter(lambda u: u[0] in ALNUM),
    st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=15),
    st.sampled_from(["com", "org", "es", "fr", "de", "co.uk", "museum"]),
)
CARDS = st.builds(
    lambda prefix, rest, sep: _grouped(_luhn_complete(prefix + rest), 4, sep),
    st.sampled_from(["4", "51", "55", "2221", "6011"]),
    st.text(alphabet=string.digits, min_size=12, max_size=12),
    st.sampled_from(["", " ", "-"]),
)
PHONES = st.builds(
    lambda cc, digits, sep: f"+{cc} " + _grouped(digits, 3, sep),
    st.sampled_from(["1", "33", "34", "44", "49", "351"]),
    st.text(alphabet=string.digits, min_size=9, max_size=11),
    st.sampled_from([" ", "-", "."]),
)
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.builds(
    lambda n, full: ipaddress.IPv6Address(n).exploded if full else str(ipaddress.IPv6Address(n)),
    st.integers(min_value=2**64, max_value=2**128 - 1),
    st.booleans(),
)
KEYS = st.one_of(
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(
        lambda s: "AKIA" + s
    ),
    st.text(alphabet=ALNUM, min_size=36, max_size=36).map(lambda s: "ghp_" + s),
    st.text(alphabet=ALNUM, min_size=20, max_size=48).map(lambda s: "sk-proj-" + s),
    st.tuples(*[st.text(alphabet=ALNUM + "_-", min_size=10, max_size=40)] * 2).map(
        lambda p: "eyJhbGciOiJIUzI1NiJ9." + p[0] + "." + p[1]
    ),
)
SECRETS = st.one_of(EMAILS, CARDS, PHONES, IPV4, IPV6, KEYS)


@settings(max_examples=300)
@given(before=PROSE, secret=SECRETS, after=PROSE)
def test_a_generated_secret_never_survives(before: str, secret: str, after: str) -> None:
    out = redact(f"{before} {secret} {after}")
    assert secret not in out
    assert any(p in out for p in PLACEHOLDERS)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=200), st.builds("{} {} {}".format, PROSE, SECRETS, PROSE)))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=300)
@given(PROSE)
def test_prose_without_personal_data_is_unchanged(text: str) -> None:
    assert redact(text) == text

"""Optional redaction of personal data: e-mail addresses, phone numbers, IP addresses.

E-mail and IP candidates are found by regular expression and IPs confirmed with
``ipaddress``; phone numbers are found and validated by ``phonenumbers`` (Google's
libphonenumber), for the region set in ``[pii]``. Each is replaced by a placeholder.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass

# not "logo@2x.png": a file name with a density suffix is not an address
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
                   r"(?<!\.png)(?<!\.jpg)(?<!\.jpeg)(?<!\.gif)(?<!\.svg)(?<!\.webp)",
                   re.IGNORECASE)
# IP candidates are plain patterns, checked in Python (_ip_in_context): lookarounds at the
# start of a pattern are tried at every position of the text, which cost 0.3 ms a document
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
IPV6 = re.compile(r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]*:[0-9A-Fa-f]{0,4}")
# Parts of every candidate, from its first dot or colon, that start with a plain character:
# re finds those quickly, where a pattern starting with a class of characters is tried at
# every position. Texts without them have no candidate and are not scanned: of 5,000 web
# pages 21% and 26% had one, and redacting them all took 0.13 s of CPU in place of 0.34 s.
_IPV4_PART = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d")
_IPV6_PART = re.compile(r":[0-9A-Fa-f]*:")
_VERSION = re.compile(r"(?:\bv|\bversion |\brelease )$", re.IGNORECASE)
PLACEHOLDERS = {"email": "<EMAIL>", "phone": "<PHONE>", "ip": "<IP>"}


@dataclass(frozen=True)
class Redaction:
    """What ``[pii]`` redacts."""

    email: bool = False
    phone: bool = False
    ip: bool = False
    phone_region: str = "US"

    @property
    def active(self) -> bool:
        return self.email or self.phone or self.ip


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _ip_in_context(text: str, match: re.Match[str]) -> bool:
    """Whether a candidate is an IP address where it stands.

    IPv4: not part of a longer dotted number, but may end a sentence ("at 10.0.0.1."); not
    after "v", "version" or "release" (a version number). IPv6: not inside a word or a
    longer run of colons, and three groups of hex digits at least, so that "::" in code
    ("x[::-1]", "a :: b") and short forms such as "::1" are left.
    """
    start, end = match.span()
    before = text[start - 1] if start else " "
    after = text[end : end + 2]
    candidate = match.group()
    if "." in candidate:
        if before.isdigit() or before == "." or after[:1].isdigit() or (
                after[:1] == "." and after[1:].isdigit()):
            return False
        if _VERSION.search(text, max(0, start - 9), start):
            return False
    else:
        if before.isalnum() or before in "_:" or after[:1].isalnum() or after[:1] in "_:":
            return False
        if sum(1 for group in candidate.split(":") if group) < 3:
            return False
    return _is_ip(candidate)


def redact(text: str, what: Redaction) -> tuple[str, Counter[str]]:
    """Replace personal data in ``text`` with placeholders; count replacements by kind."""
    counts: Counter[str] = Counter()
    if what.email and "@" in text:
        text, n = EMAIL.subn(PLACEHOLDERS["email"], text)
        if n:
            counts["email"] += n
    if what.ip:
        def swap(match: re.Match[str]) -> str:
            if _ip_in_context(match.string, match):
                counts["ip"] += 1
                return PLACEHOLDERS["ip"]
            return match.group()

        if _IPV4_PART.search(text):
            text = IPV4.sub(swap, text)
        if _IPV6_PART.search(text):
            text = IPV6.sub(swap, text)
    if what.phone and any(c.isdigit() for c in text):
        import phonenumbers

        spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(
            text, what.phone_region, leniency=phonenumbers.Leniency.VALID)]
        for start, end in reversed(spans):
            text = text[:start] + PLACEHOLDERS["phone"] + text[end:]
        if spans:
            counts["phone"] += len(spans)
    return text, counts

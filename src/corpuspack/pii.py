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
# an IPv4 address may end a sentence ("at 10.0.0.1."), but not be a part of a longer dotted
# number; after "version", "release" or "v" it is a version number
IPV4 = re.compile(r"(?<![\d.])(?<!\bv)(?<!\bversion )(?<!\brelease )"
                  r"(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)", re.IGNORECASE)
# at least three groups of hex digits, so that "::" in code ("x[::-1]", "a :: b") is left
IPV6 = re.compile(r"(?<![\w:])(?=(?:[0-9A-Fa-f]*:){2})(?=(?::*[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f])){3})"
                  r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
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


def redact(text: str, what: Redaction) -> tuple[str, Counter[str]]:
    """Replace personal data in ``text`` with placeholders; count replacements by kind."""
    counts: Counter[str] = Counter()
    if what.email and "@" in text:
        text, n = EMAIL.subn(PLACEHOLDERS["email"], text)
        if n:
            counts["email"] += n
    if what.ip:
        for pattern in (IPV4, IPV6):
            def swap(match: re.Match[str]) -> str:
                if _is_ip(match.group()):
                    counts["ip"] += 1
                    return PLACEHOLDERS["ip"]
                return match.group()

            text = pattern.sub(swap, text)
    if what.phone and any(c.isdigit() for c in text):
        import phonenumbers

        spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(
            text, what.phone_region, leniency=phonenumbers.Leniency.VALID)]
        for start, end in reversed(spans):
            text = text[:start] + PLACEHOLDERS["phone"] + text[end:]
        if spans:
            counts["phone"] += len(spans)
    return text, counts

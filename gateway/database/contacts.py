"""A member's contact data, normalised for search and for the one-member-per-phone rule.

- **Phone**: E.164 (``+8613800138000``), parsed by libphonenumber: a number in international
  form (``+86 138 0013 8000``, ``0086...``) or, at enrolment, in the national form of the home
  channel's country (``138 0013 8000`` in a Chinese channel, ``012-345 6789`` in a Malaysian
  one). Spaces, dashes, dots and brackets do not matter.
- **E-mail**: trimmed and lower-cased as a whole (``Guo.Qiang@Example.COM`` and
  ``guo.qiang@example.com`` are one address).
- **Name**: NFKC, case-folded, accents removed, runs of spaces as one. A name matches a prefix
  of the whole name or of any of its words from the second on (``"qia"`` and ``"guo q"`` both
  find Guo Qiang): the member document keeps the whole name and each such tail as
  ``search.names``, so a prefix is one range of one index.

The normalised values live under ``search`` on the member document (indexed, see
``indexes.py``), never in an answer; erasing a member removes them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

import phonenumbers

from gateway.database.query import Doc

MIN_NAME_PREFIX: Final = 2
MAX_NAME_PREFIX: Final = 100
_SPACES = re.compile(r"\s+")


def e164(phone: str, *, region: str | None = None) -> str | None:
    """The E.164 form of ``phone``, or ``None`` when it is not a valid number (a national
    number needs the ``region``, an ISO 3166 country code, to be read)."""
    text = phone.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_key(email: str) -> str:
    """An e-mail address as it is compared: trimmed, lower-cased."""
    return email.strip().lower()


def name_key(name: str) -> str:
    """A name as it is compared: NFKC, case-folded, without accents, single spaces."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name).casefold())
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare).strip()


def name_keys(name: str) -> list[str]:
    """The whole name and every tail that starts at a word: what a prefix may match."""
    words = name_key(name).split(" ")
    return [" ".join(words[i:]) for i in range(len(words)) if words[i]]


def search_fields(*, name: str, phone: str | None, email: str | None,
                  region: str | None) -> Doc:
    """The ``search`` sub-document of a member."""
    fields: Doc = {"names": name_keys(name)}
    if phone is not None and (normal := e164(phone, region=region)) is not None:
        fields["phone"] = normal
    if email is not None:
        fields["email"] = email_key(email)
    return fields


def phone_key_id(normal_phone: str) -> str:
    """The ``_id`` of the ``member_keys`` document that holds a phone for one member."""
    return f"phone:{normal_phone}"

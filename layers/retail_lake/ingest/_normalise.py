"""Canonical names for the low-cardinality text columns (category, payment, gender, mall).

Pure functions over one value each: ingest applies them to the distinct values of a file and joins
the result back, so the rules are plain Python, easy to read and to test.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

CATEGORIES = (
    "Clothing", "Shoes", "Books", "Cosmetics", "Food & Beverage", "Toys", "Technology", "Souvenir",
)
PAYMENT_METHODS = ("Cash", "Credit Card", "Debit Card")

_CATEGORY_ALIASES = {
    "clothing": "Clothing", "clothes": "Clothing", "apparel": "Clothing", "fashion": "Clothing",
    "shoes": "Shoes", "shoe": "Shoes", "footwear": "Shoes",
    "books": "Books", "book": "Books",
    "cosmetics": "Cosmetics", "cosmetic": "Cosmetics", "beauty": "Cosmetics",
    "foodbeverage": "Food & Beverage", "foodandbeverage": "Food & Beverage",
    "foodbeverages": "Food & Beverage", "foodandbeverages": "Food & Beverage", "food": "Food & Beverage",
    "foodanddrink": "Food & Beverage", "foodanddrinks": "Food & Beverage", "fb": "Food & Beverage",
    "toys": "Toys", "toy": "Toys",
    "technology": "Technology", "tech": "Technology", "electronics": "Technology",
    "souvenir": "Souvenir", "souvenirs": "Souvenir", "gifts": "Souvenir", "gift": "Souvenir",
}
_PAYMENT_ALIASES = {
    "cash": "Cash", "nakit": "Cash",
    "creditcard": "Credit Card", "credit": "Credit Card", "cc": "Credit Card", "visa": "Credit Card",
    "mastercard": "Credit Card", "amex": "Credit Card", "kredikarti": "Credit Card",
    "debitcard": "Debit Card", "debit": "Debit Card", "bankcard": "Debit Card", "bankakarti": "Debit Card",
}
_GENDER_ALIASES = {
    "female": "Female", "f": "Female", "woman": "Female", "w": "Female", "kadin": "Female", "k": "Female",
    "male": "Male", "m": "Male", "man": "Male", "erkek": "Male", "e": "Male",
}


_AND = re.compile(r"\band\b")
# Every ASCII byte that is not a digit or a lower-case letter (after lower(), no upper case is left).
_NOT_KEY = bytes(b for b in range(128) if not (48 <= b <= 57 or 97 <= b <= 122))


def _key(value: str) -> str:
    """Matching key: lower case, accents and the Turkish dotless i folded, '&'/'and' and punctuation dropped.

    Written with bytes.translate rather than a regex: a file may carry 200,000 distinct names.
    """
    folded = value.lower().replace("ı", "i").replace("i̇", "i").replace("&", " ")
    if not folded.isascii():  # Çevahir -> cevahir, Şişli -> sisli: letters lose their accents, not themselves
        folded = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    if "and" in folded:
        folded = _AND.sub(" ", folded)
    return folded.encode("ascii", "ignore").translate(None, _NOT_KEY).decode("ascii")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None


def normalise_category(value: str | None) -> tuple[str, str | None]:
    """(canonical category, flag). Unknown values are kept as sent; a missing one is 'Unknown'."""
    text = _clean(value)
    if text is None:
        return "Unknown", "unknown_category"
    canonical = _CATEGORY_ALIASES.get(_key(text))
    return (canonical, None) if canonical else (text, "unknown_category")


def normalise_payment(value: str | None) -> tuple[str | None, str | None]:
    text = _clean(value)
    if text is None:
        return None, None
    canonical = _PAYMENT_ALIASES.get(_key(text))
    return (canonical, None) if canonical else (text, "unknown_payment_method")


def normalise_gender(value: str | None) -> tuple[str | None, str | None]:
    text = _clean(value)
    if text is None:
        return None, None
    canonical = _GENDER_ALIASES.get(_key(text))
    return (canonical, None) if canonical else (None, "unknown_gender")


@cache
def known_malls() -> dict[str, str]:
    """Matching key -> mall name, from the shipped stores reference table."""
    text = resources.files("retail_lake").joinpath("reference", "stores_default.csv").read_text("utf-8")
    names = [line.split(",", 1)[0] for line in text.splitlines()[1:] if line.strip()]
    return {_key(name): name for name in names}


def normalise_mall(value: str | None) -> tuple[str, str | None]:
    """Known malls get their reference spelling; others are kept (trimmed); missing -> 'Unknown'."""
    text = _clean(value)
    if text is None:
        return "Unknown", "missing_store"
    return known_malls().get(_key(text), text), None

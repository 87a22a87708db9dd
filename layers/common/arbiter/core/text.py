"""Text normalization shared by targeting and scoring.

label_key(): how an identifier-like label (a player segment) compares: case and surrounding spaces ignored.
normalize(): lowercase, keep runs of letters/digits, join them with single spaces. Underscores, hyphens,
spaces and punctuation all separate words, so "Oval_Office", "oval office" and "oval-office" are equal.
"""

import re

_WORD = re.compile(r"[^\W_]+")


def normalize(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(_WORD.findall(text.lower()))


def words(text: str | None) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower())) if text else ()


def padded(normalized_text: str) -> str:
    """ " a b c ": a phrase p occurs as whole words exactly when f" {p} " is a substring."""
    return f" {normalized_text} "


def contains_phrase(padded_text: str, normalized_phrase: str) -> bool:
    return bool(normalized_phrase) and f" {normalized_phrase} " in padded_text


def label_key(label: str) -> str:
    """Segments compare equal whatever their case or surrounding spaces ("Whale " is "whale"), in every API."""
    return label.strip().lower()

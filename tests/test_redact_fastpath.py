"""The Redactor skips a pattern when the text cannot hold what it looks for (every line of a
long `wait` passes through it). It must hide exactly what running every pattern hides: the
words in any case, non-ASCII texts whose case folding lower() does not know, short secrets."""

from __future__ import annotations

import random

import pytest

from jobwatch.redact import ANYWHERE, Redactor, _where_credentials_stand


def every_pattern(secrets: list[str], text: str) -> str:
    """The Redactor as it was before it looked first: every pattern on every text."""
    import re

    ordered = sorted(set(secrets), key=len, reverse=True)
    for secret in ordered:
        if len(secret) >= ANYWHERE:
            text = text.replace(secret, "***")
    short = frozenset(s for s in ordered if len(s) < ANYWHERE)
    if short:
        for pattern in _where_credentials_stand(short):
            text = pattern.sub(r"\1***", text)
    for _, source in Redactor._PATTERNS:
        text = re.sub(source, r"\1***", text)
    return text


@pytest.mark.parametrize("text", [
    "AUTHORIZATION: Basic dXNlcjpwYXNz",
    "PROXY-AUTHORIZATION: Token dXNlcjpwYXNz",
    "sent BEARER dXNlcjpwYXNz to host",
    "COOKIE: sid=dXNlcjpwYXNz",
    "SeT-CoOkIe: sid=dXNlcjpwYXNz",
    "X-ORGANIZATION-ID: dXNlcjpwYXNz",
    # Non-ASCII: the Kelvin sign is a "k" and the dotless i an "i" to a (?i) pattern; lower()
    # makes the first a "k", not the second.
    "Coo\u212aie: dXNlcjpwYXNz",
    "AUTHOR\u0131ZATION: Basic dXNlcjpwYXNz",
    "Cook\u0131e: sid=dXNlcjpwYXNz",
    "Authorization: \u017fecret dXNlcjpwYXNz",
    "b\u00e9arer; then Bearer dXNlcjpwYXNz",
])
def test_header_words_in_any_case_still_redact(text: str) -> None:
    out = Redactor()(text)
    assert "dXNlcjpwYXNz" not in out, out
    assert out == every_pattern([], text)


@pytest.mark.parametrize(("secret", "text", "expected"), [
    ("t", "X-Token: T", "X-Token: ***"),
    ("t", "Authorization: BEARER T", "Authorization: BEARER ***"),
    ("ab", "X-Api-Key: AB", "X-Api-Key: ***"),
    ("ab", "see /f?key=ab&x=1", "see /f?key=***&x=1"),
    ("ab", "https://ab@host/x", "https://***@host/x"),
    ("\u017f", "token=s", "token=***"),  # a non-ASCII secret: every pattern runs
    ("ab", "\u00e9 token: AB", "\u00e9 token: ***"),  # a non-ASCII text: likewise
    ("ab", "nothing to hide about abc", "nothing to hide about abc"),
])
def test_short_secrets_still_redact_where_a_credential_stands(secret: str, text: str,
                                                              expected: str) -> None:
    assert Redactor([secret])(text) == expected == every_pattern([secret], text)


def test_ordinary_lines_come_back_unchanged() -> None:
    line = "[    3s]   claret 997: running  3/8 steps  Validating rows\n"
    assert Redactor(["bench-token-4f1c9a7e", "t1"])(line) == line


PIECES = ["Authorization", "AUTHORIZATION", "authorization", "Proxy-Authorization", "Cookie",
          "SET-COOKIE", "x-organization-id", "X-Organization-ID", "Bearer", "bEaReR", "token",
          "api_key", "password", ": ", "=", "', '", "(b'", "\"", "?", "&", "//", "@", " ",
          "\n", "abc", "AbC", "s3cr3t", "longsecret42", "LONGSECRET42", "\u212a", "\u017f",
          "Author\u0131zation", "COOK\u0131E", "\u0131",
          "\u00e9", "*", "x"]


def test_the_same_as_every_pattern_on_generated_texts() -> None:
    rng = random.Random(20240601)
    for _ in range(3000):
        secrets = rng.sample(["abc", "s3cr3t", "longsecret42", "x", "\u017f", "AbC"],
                             rng.randint(0, 3))
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14)))
        assert Redactor(secrets)(text) == every_pattern(secrets, text), (secrets, text)

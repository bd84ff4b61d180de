"""wizard.redact: the scrubber hides registered secrets, keys and URL credentials; printable() escapes controls."""

from __future__ import annotations


def test_scrubber_hides_registered_secrets_keys_and_url_credentials() -> None:
    from wizard import redact

    redact.remember("s3cr3t-Value-0123456789")
    text = (
        "token s3cr3t-Value-0123456789 b64 czNjcjN0LVZhbHVlLTAxMjM0NTY3ODk "
        "https://bot:hunter2@git.example.com/x AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQY "
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\n    client-key-data: LS0tLS1CRUdJTiBSU0Eg"
    )
    out = redact.scrub(text)
    for leaked in (
        "s3cr3t-Value",
        "czNjcjN0LVZhbHVl",
        "hunter2",
        "AGE-SECRET-KEY-1QYQ",
        "MIIEabc",
        "LS0tLS1CRUdJTiBSU0Eg",
    ):
        assert leaked not in out, (leaked, out)
    redact.forget("s3cr3t-Value-0123456789")


def test_printable_keeps_text_and_escapes_controls() -> None:
    from wizard import redact

    assert redact.printable("ok ✔ ünï\n\tnext") == "ok ✔ ünï\n\tnext"
    assert redact.printable("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"
    assert redact.printable("del\x7f nul\x00 ls\u2028 zwj 👩\u200d💻") == "del\\x7f nul\\x00 ls\\u2028 zwj 👩\u200d💻"
    assert redact.printable("one\ntwo\tthree", newlines=False) == "one\\x0atwo\tthree"

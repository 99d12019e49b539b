"""Property-based tests of option parsing and URL validation."""

import argparse
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gilviz.cli import build_parser, url_arg, workers_arg


@given(st.integers())
def test_workers_accepts_exactly_1_to_256(n):
    if 1 <= n <= 256:
        assert workers_arg(str(n)) == n
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            workers_arg(str(n))


@given(st.text())
def test_workers_never_crashes_on_any_text(text):
    try:
        assert 1 <= workers_arg(text) <= 256
    except argparse.ArgumentTypeError:
        pass


@given(st.text())
def test_url_validation_accepts_only_http_and_https_with_a_host(text):
    try:
        url = url_arg(text)
    except argparse.ArgumentTypeError as exc:
        assert str(exc)
        return
    assert url.lower().startswith(("http://", "https://"))
    assert not any(c in url for c in string.whitespace)


@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "ftp", "file", "gopher", "ws", "data", ""]),
    host=st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,5})?", fullmatch=True),
    path=st.from_regex(r"(/[a-zA-Z0-9._~-]{0,10}){0,3}", fullmatch=True),
)
def test_url_scheme_decides(scheme, host, path):
    url = f"{scheme}://{host}{path}" if scheme else f"{host}{path}"
    if scheme.lower() in ("http", "https"):
        assert url_arg(url) == url
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            url_arg(url)


@settings(max_examples=60)
@given(st.lists(st.sampled_from(["--workers", "--size", "--latency", "--switch-interval", "--timeout", "7", "0",
                                 "-1", "1e9", "nan", "x", "--lock", "--no-lock", "-w", "race", "-s", "threads"]),
                max_size=6))
def test_parser_either_parses_or_exits_2(argv):
    parser = build_parser()
    try:
        parser.parse_args(["run", *argv])
    except SystemExit as exc:
        assert exc.code == 2

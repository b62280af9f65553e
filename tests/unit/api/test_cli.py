"""`retail-lake serve`: loopback and port 8000 by default, the lake from --lake."""

from __future__ import annotations


def test_serve_defaults_to_loopback() -> None:
    from retail_lake.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.lake) == ("127.0.0.1", 8000, None)
    args = build_parser().parse_args(["serve", "--lake", "some/lake", "--host", "0.0.0.0", "--port", "9000"])
    assert (args.host, args.port, args.lake) == ("0.0.0.0", 9000, "some/lake")
    assert args.func.__name__ == "serve"

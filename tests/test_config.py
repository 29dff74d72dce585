"""The one configuration model: relaywatch.toml parsed once, every section typed, every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaywatch.core import CONFIG_NAME, ConfigError, load_config, parse_config


def test_an_empty_file_gives_the_documented_defaults() -> None:
    config = parse_config({})
    assert config.parse.timezone == "UTC"
    assert config.collect.poll_seconds == 10.0
    assert config.collect.chunk_bytes == 32 * 1024 * 1024
    assert config.mail.host == "" and config.mail.port == 25
    assert config.dashboards.signup_days == 30


def test_values_are_converted_to_their_declared_types() -> None:
    config = parse_config({"collect": {"poll_seconds": 2, "attempts": 5}, "mail": {"starttls": True}})
    assert config.collect.poll_seconds == 2.0 and isinstance(config.collect.poll_seconds, float)
    assert config.collect.attempts == 5 and config.mail.starttls is True


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"colect": {}}, "colect"),
        ({"collect": {"pol_seconds": 1}}, "pol_seconds"),
        ({"mail": {"port": "25"}}, "mail.port"),
        ({"mail": {"starttls": "yes"}}, "mail.starttls"),
        ({"collect": {"attempts": 1.5}}, "collect.attempts"),
        ({"collect": {"poll_seconds": True}}, "collect.poll_seconds"),
        ({"collect": {"poll_seconds": -1}}, "collect.poll_seconds"),
        ({"mail": {"port": 70000}}, "port"),
        ({"parse": {"timezone": "Mars/Olympus"}}, "timezone"),
        ({"dashboards": {"signup_days": 0}}, "dashboards.signup_days"),
        ({"classify": {"rules": {"id": "x"}}}, "classify.rules"),
        ({"mail": "smtp.example.org"}, "[mail]"),
    ],
)
def test_every_mistake_is_refused_with_the_key_it_is_about(raw: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_config(raw)


def test_a_broken_file_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text("[collect\npoll_seconds = 1\n")
    with pytest.raises(ConfigError, match="relaywatch.toml: invalid configuration"):
        load_config(tmp_path)
    (tmp_path / CONFIG_NAME).write_text("[collect]\npoll_seconds = 'soon'\n")
    with pytest.raises(ConfigError, match=r"relaywatch\.toml: collect\.poll_seconds = 'soon': expected a number"):
        load_config(tmp_path)


def test_the_password_comes_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config({"mail": {"host": "relay", "password_env": "RW_TEST_SMTP"}})
    monkeypatch.setenv("RW_TEST_SMTP", "s3cret")
    assert config.mail.password == "s3cret"
    assert parse_config({"mail": {"host": "relay"}}).mail.password is None

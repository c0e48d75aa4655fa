"""Settings precedence, profile checks and the generated command names (no subprocess)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cme_async.cli import CliError, Exit
from cme_async.cli._actions import kebab
from cme_async.cli._config import Settings, load_settings


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def test_flags_beat_a_chosen_profile_beats_env_beats_default(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        '[profiles.default]\nplatform = "p-default"\nuser_id = "u-default"\napi_url = "https://d"\n'
        '[profiles.prod]\nuser_id = "u-prod"\n',
    )
    env = {"CME_USER_ID": "u-env", "CME_PLATFORM": "p-env", "CME_CONFIG_FILE": path}
    plain = load_settings(environ=env)
    assert (plain.user_id, plain.platform, plain.api_url) == ("u-env", "p-env", "https://d")
    chosen = load_settings(profile="prod", environ=env)
    assert (chosen.user_id, chosen.platform) == ("u-prod", "p-env")
    flagged = load_settings(profile="prod", environ=env, flags={"user_id": "u-flag"})
    assert flagged.user_id == "u-flag"
    by_variable = load_settings(environ={**env, "CME_PROFILE": "prod"})
    assert by_variable.user_id == "u-prod"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profiles.x]\nsecret = 1\n", "unknown key(s) secret"),
        ("profiles = 3\n", "'profiles' must be a table"),
        ("[profiles\n", "cannot read config file"),
    ],
)
def test_bad_config_files_are_one_line_config_errors(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(CliError, match=re.escape(message)) as caught:
        load_settings(config_path=path, environ={})
    assert caught.value.code == Exit.CONFIG


def test_missing_settings_are_named_with_the_fix() -> None:
    settings = Settings(secret_id="AKID", config_path="/c.toml")
    with pytest.raises(CliError) as caught:
        settings.require("secret_id", "secret_key", "platform")
    assert str(caught.value).startswith("CME_SECRET_KEY, CME_PLATFORM are not set")
    assert "secret_key/platform in a [profiles.<name>] table of /c.toml" in str(caught.value)
    assert "AKID" not in repr(settings) and caught.value.code == Exit.CONFIG


def test_settings_repr_never_shows_the_key() -> None:
    assert "s3cr3t" not in repr(Settings(secret_key="s3cr3t-key-value"))


@pytest.mark.parametrize(
    ("name", "flag"),
    [
        ("DescribeMaterials", "describe-materials"),
        ("WHRatio", "wh-ratio"),
        ("MaterialId", "material-id"),
        ("FirstLevel", "first-level"),
    ],
)
def test_kebab_names(name: str, flag: str) -> None:
    assert kebab(name) == flag


def test_an_unreachable_redis_is_a_network_error_not_a_bug() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from cme_async.cli._errors import classify

    for exc in (RedisConnectionError("Error 111 connecting"), RedisTimeoutError("timed out")):
        line, status = classify(exc)
        assert status == Exit.NETWORK and "internal error" not in line
        assert "CME_REDIS_URL" in line
    assert classify(ValueError("a bug"))[1] == Exit.INTERNAL

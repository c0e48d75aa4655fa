"""Where ``cme`` finds its settings: flags, then an explicitly chosen profile, then
``CME_*`` environment variables, then the ``default`` profile.

Profiles live in a TOML file: ``--config PATH``, else ``$CME_CONFIG_FILE``, else
``$XDG_CONFIG_HOME/cme/config.toml`` (``~/.config/cme/config.toml``)::

    [profiles.default]
    platform = "1000000009"

    [profiles.prod]
    secret_id = "AKID..."
    secret_key = "..."          # or leave it out and export CME_SECRET_KEY
    user_id = "ops"
    api_url = "https://web-paas-api.cme.qcloud.com"
    redis = "redis://cache:6379/0"
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ._errors import CliError, Exit

#: Setting name -> environment variable.
VARIABLES = {
    "secret_id": "CME_SECRET_ID",
    "secret_key": "CME_SECRET_KEY",
    "platform": "CME_PLATFORM",
    "user_id": "CME_USER_ID",
    "api_url": "CME_API_URL",
    "login_url": "CME_LOGIN_URL",
    "redis": "CME_REDIS_URL",
}


@attrs.frozen(repr=False)
class Settings:
    secret_id: str | None = None
    secret_key: str | None = None
    platform: str | None = None
    user_id: str | None = None
    api_url: str | None = None
    login_url: str | None = None
    redis: str | None = None
    profile: str | None = None
    config_path: str | None = None

    def __repr__(self) -> str:  # never shows the key
        return f"Settings(platform={self.platform!r}, user_id={self.user_id!r}, ...)"

    def require(self, *names: str) -> None:
        """Fail with one line naming every missing setting and where to set it."""
        missing = [VARIABLES[n] for n in names if not getattr(self, n)]
        if missing:
            where = (
                f"a [profiles.<name>] table of {self.config_path}"
                if self.config_path
                else ("a profile (docs/cli.md)")
            )
            verb = "is" if len(missing) == 1 else "are"
            raise CliError(
                f"{', '.join(missing)} {verb} not set: export {'/'.join(missing)}, "
                f"or put {'/'.join(n for n in names if not getattr(self, n))} in {where}",
                Exit.CONFIG,
            )


def default_config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("CME_CONFIG_FILE"):
        return Path(environ["CME_CONFIG_FILE"])
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "cme" / "config.toml"


def _read_profiles(path: Path, explicit: bool) -> dict[str, dict[str, Any]]:
    if not path.exists():
        if explicit:
            raise CliError(f"config file {path} does not exist", Exit.CONFIG)
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"cannot read config file {path}: {exc}", Exit.CONFIG) from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise CliError(f"{path}: 'profiles' must be a table of tables", Exit.CONFIG)
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise CliError(f"{path}: [profiles.{name}] must be a table", Exit.CONFIG)
        unknown = sorted(set(table) - set(VARIABLES))
        if unknown:
            raise CliError(
                f"{path}: [profiles.{name}] has unknown key(s) {', '.join(unknown)} "
                f"(known: {', '.join(VARIABLES)})",
                Exit.CONFIG,
            )
        if "secret_key" in table:
            _warn_if_readable(path)
    return profiles


def _warn_if_readable(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(
            f"cme: warning: {path} holds a secret key and other users can read it "
            f"(chmod 600 {path})",
            file=sys.stderr,
        )


def load_settings(
    *,
    profile: str | None = None,
    config_path: str | None = None,
    flags: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    path = Path(config_path) if config_path else default_config_path(env)
    chosen = profile or env.get("CME_PROFILE") or None
    profiles = _read_profiles(path, explicit=bool(config_path))
    if chosen is not None and chosen not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise CliError(
            f"profile {chosen!r} is not in {path} (profiles there: {known})", Exit.CONFIG
        )
    values: dict[str, str | None] = {}
    layers: list[Mapping[str, Any]] = [profiles.get("default", {})]
    layers.append({k: env.get(v) for k, v in VARIABLES.items()})
    if chosen is not None:
        layers.append(profiles[chosen])
    layers.append(flags or {})
    for layer in layers:
        for key in VARIABLES:
            value = layer.get(key)
            if value is not None and value != "":
                values[key] = str(value)
    return Settings(**values, profile=chosen, config_path=str(path))

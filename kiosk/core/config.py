"""Typed settings: defaults, then ``config.toml`` in the platformdirs config dir, then
``KIOSK_*`` environment variables, then command-line options (applied by the CLI).

Every field is documented in docs/configuration.md.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import platformdirs

APP_NAME = "grid-kiosk"


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    #: Path of the laptop database. Default: ``<data dir>/kiosk.db``.
    db: str | None = None
    #: Interface language: ``zh`` (Simplified Chinese) or ``en``.
    lang: str = "zh"
    #: Name of the worker command-line commands act as (default: the first grid worker); the
    #: interface offers it on the sign-in screen instead of the last worker who signed in.
    worker: str | None = None
    #: Minutes without a key or mouse event after which the interface locks (fractions
    #: allowed; 0 never locks). Unlocking takes the signed-in worker's PIN.
    lock_minutes: float = 5.0
    #: Rows fetched per page in lists (search results, households).
    page_size: int = 50
    #: Care-tagged households not visited for this many days come first on the walk list.
    care_revisit_days: int = 30
    #: Log level of the log file (DEBUG, INFO, WARNING, ERROR).
    log_level: str = "INFO"
    #: Hub URL for ``kiosk sync`` (default: the hub this laptop was enrolled with).
    hub_url: str | None = None
    #: Operations per sync request (push and pull pages); the hub accepts at most 2000.
    sync_batch: int = 500
    #: Seconds to wait for the hub before giving up (nothing is lost; sync again).
    sync_timeout: float = 30.0
    #: The hub: operations stamped more than this many hours ahead of its clock are refused
    #: (a laptop whose clock is set wrong would drag every clock into the future).
    hub_max_drift_hours: float = 24.0
    #: Cases: days an open case may be past its deadline before it climbs from 一级督办
    #: (supervise, any overdue case) to 二级催办 (urge).
    escalate_urge_days: int = 7
    #: Cases: further days past the urge threshold before 三级查办 (investigate).
    escalate_investigate_days: int = 7
    #: Cases: follow-up attempts that failed to reach the resident after which a resolved case
    #: may be closed without a rating (with a documented reason).
    close_after_attempts: int = 3
    #: Cases: earlier cases closed within this many days are proposed as possible repeats.
    repeat_window_days: int = 90
    #: Cases: path of a TOML file with the category table (docs/cases.md); default built-in.
    case_categories: str | None = None
    #: QR labels: path of a TrueType/OpenType font (``.ttf``/``.ttc``) with Chinese glyphs
    #: for label sheets and case slips; default: found on the system (docs/qr.md).
    label_font: str | None = None
    #: Scanning: a keyboard-wedge scanner types faster than this many milliseconds per key;
    #: slower keys are a person typing (docs/qr.md).
    scan_key_gap_ms: int = 50
    #: Scanning and photos: which camera ``kiosk scan --camera``, the camera key and the
    #: photo picker's camera open: 0 = the first, 1 the second..., or a video stream's
    #: address (a phone running an IP-camera app: ``http://192.168.1.20:8080/video``).
    camera_index: int | str = 0
    #: Photos: the longer side of a stored photo in pixels (docs/photos.md); 400 to 4000.
    photo_long_edge: Annotated[int, msgspec.Meta(ge=400, le=4000)] = 1600
    #: Photos: JPEG quality of a stored photo, 40 to 95.
    photo_quality: Annotated[int, msgspec.Meta(ge=40, le=95)] = 82
    #: Photos: how the screens draw a picture: ``auto`` (Kitty's protocol in Kitty, Sixel in
    #: the terminals known to draw it, coloured half blocks elsewhere), ``kitty``, ``sixel``,
    #: ``halfcell``, or ``none`` (text lines only).
    photo_graphics: Literal["auto", "kitty", "sixel", "halfcell", "none"] = "auto"
    #: Encryption at rest (docs/security.md): keep the laptop database encrypted. A new
    #: database is created encrypted and a plain one is encrypted when it is opened.
    encryption: bool = False
    #: Encryption at rest: the key file. Default: ``keys/<database>-<hash>.key`` next to the
    #: configuration file. Point it at a removable USB key to keep key and data apart.
    key_file: str | None = None


def camera_source(value: int | str) -> int | str:
    """``camera_index`` as OpenCV takes it: a number for a camera ("1" from the environment
    too), else the stream's address or file."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def data_dir() -> Path:
    return Path(os.environ.get("KIOSK_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))


def config_path() -> Path:
    explicit = os.environ.get("KIOSK_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def config_dir() -> Path:
    """The folder of the configuration file (and of the default key files)."""
    return config_path().parent


class ConfigError(Exception):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


def _env_overrides() -> dict[str, object]:
    out: dict[str, object] = {}
    for name in Settings.__struct_fields__:
        value = os.environ.get(f"KIOSK_{name.upper()}")
        if value is not None and value != "":
            out[name] = value
    return out


def load_settings(**overrides: object) -> Settings:
    """Settings from file, environment and ``overrides`` (None values are ignored)."""
    raw: dict[str, object] = {}
    path = config_path()
    if path.exists():
        try:
            with path.open("rb") as fh:
                raw.update(tomllib.load(fh))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(path, str(exc)) from exc
    raw.update(_env_overrides())
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(path, str(exc)) from exc
    return settings


def database_path(settings: Settings) -> Path:
    return Path(settings.db).expanduser() if settings.db else data_dir() / "kiosk.db"


def key_path(settings: Settings, db_path: Path) -> Path:
    """The key file of the database at ``db_path``: ``key_file`` if set, else one named after
    the database in ``keys/`` next to the configuration file.

    The name carries a hash of the database's full path, so two databases never share a key
    file by accident; a database moved elsewhere needs ``key_file`` (or its key file renamed).
    The default is the config folder rather than the data folder so that a copy of the data
    folder does not carry the key with it.
    """
    if settings.key_file:
        return Path(settings.key_file).expanduser()
    full = db_path.expanduser().resolve()
    digest = hashlib.sha256(str(full).encode("utf-8")).hexdigest()[:12]
    return config_dir() / "keys" / f"{full.stem}-{digest}.key"

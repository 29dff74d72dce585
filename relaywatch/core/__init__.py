"""The core of relaywatch that every package but acl may use: the data home, the one configuration
model, the error base and the file helpers. It imports nothing else of ours."""

from relaywatch.core.config import (
    CONFIG_NAME,
    ApiSection,
    ClassifySection,
    CollectSection,
    Config,
    ConfigError,
    DashboardsSection,
    FblMailbox,
    FblSection,
    MailSection,
    ParseSection,
    PolicyGatewaySection,
    PolicySection,
    ReportsSection,
    SqlSection,
    load_config,
    parse_config,
    time_zone,
)
from relaywatch.core.errors import RelaywatchError
from relaywatch.core.files import file_lock, write_atomic
from relaywatch.core.home import (
    DEFAULT_CONFIG,
    HomeError,
    control_db,
    lake_dir,
    locks_dir,
    open_home,
    resolve_home,
)
from relaywatch.core.lazy import lazy_exports

__all__ = [
    "CONFIG_NAME",
    "ApiSection",
    "DEFAULT_CONFIG",
    "ClassifySection",
    "CollectSection",
    "Config",
    "ConfigError",
    "DashboardsSection",
    "FblMailbox",
    "FblSection",
    "HomeError",
    "MailSection",
    "ParseSection",
    "PolicyGatewaySection",
    "PolicySection",
    "RelaywatchError",
    "ReportsSection",
    "SqlSection",
    "control_db",
    "file_lock",
    "lake_dir",
    "lazy_exports",
    "load_config",
    "locks_dir",
    "open_home",
    "parse_config",
    "resolve_home",
    "time_zone",
    "write_atomic",
]

"""Settings of the whole platform: one pydantic-settings class, built once at start and passed in.

Every package receives the values it needs as arguments; nothing below `anxin/` reads the
environment. With no `DATABASE_URL` / `MQTT_URL` the launcher starts private local services.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.worker import IngestConfig


class Settings(BaseSettings):
    """Configuration read from `ANXIN_*` environment variables (and `DATABASE_URL`, `MQTT_URL`)."""

    model_config = SettingsConfigDict(env_prefix="ANXIN_", env_file=None, extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "ANXIN_DATABASE_URL"))
    mqtt_url: str | None = Field(default=None, validation_alias=AliasChoices("MQTT_URL", "ANXIN_MQTT_URL"))
    data_dir: Path = Path(".data")
    topic_prefix: str = "ec/v1"  # devices' topics: {topic_prefix}/{device_id}/{channel}
    topic_root: str = "anxin/v1"  # the platform's own: alert changes, escalations, dispatch, staff positions
    timezone: str = "Asia/Shanghai"

    # ingest
    ingest_group: str = "ingest"
    ingest_client_id: str = "anxin-ingest-1"
    batch_max_rows: int = Field(default=5000, ge=1)
    batch_max_ms: int = Field(default=200, ge=1)
    spool_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    max_future_skew_s: float = Field(default=300.0, gt=0)
    retention_days: int = Field(default=180, ge=1)
    # learning from outcomes: consented residents' closed fall alerts keep their impact window this long
    outcome_retention_days: int = Field(default=365, ge=1)
    personal_adjustment: bool = True  # lower a resident's new look-alike false falls (never an SOS, never dropped)

    # detection: this process's name in the partition leases (unique per running process; default host-pid)
    alerts_id: str | None = None
    metrics_port: int | None = None  # a process without the dashboard serves /metrics, /healthz, /readyz here

    # the platform's broker accounts (`anxin devices provision` makes them): with client ids bound to
    # user names, each connection needs its own account, so ingest and the core bus have one each
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ingest_username: str | None = None
    mqtt_ingest_password: SecretStr | None = None
    mqtt_ingest_events_username: str | None = None  # ingest takes events on a connection of their own
    mqtt_ingest_events_password: SecretStr | None = None
    mqtt_ingest_urgent_username: str | None = None  # and urgent events again on a clean session (the urgent lane)
    mqtt_ingest_urgent_password: SecretStr | None = None

    def broker_account(self, role: str) -> tuple[str | None, str | None]:
        """Return (user, password) of a connection: ``core``, ``ingest``, ``ingest_events`` or ``ingest_urgent``."""
        user: str | None = getattr(self, f"mqtt_{role}_username", None)
        secret: SecretStr | None = getattr(self, f"mqtt_{role}_password", None)
        if not user:
            user, secret = self.mqtt_username, self.mqtt_password
        return user, secret.get_secret_value() if secret else None

    def ingest_config(self, client_id: str) -> IngestConfig:
        """Return the ingest worker's configuration; each client id spools to a folder of its own."""
        return IngestConfig(
            spool_dir=Path(self.data_dir) / "spool" / client_id,
            topic_prefix=self.topic_prefix,
            group=self.ingest_group,
            batch_max_rows=self.batch_max_rows,
            batch_max_ms=self.batch_max_ms,
            spool_max_bytes=self.spool_max_bytes,
            max_future_skew_s=self.max_future_skew_s,
        )

    # the clocks of the alert path; a drill or a test may run them faster (0.05: the ladder 20x faster)
    escalation_scale: float = Field(default=1.0, gt=0, le=10)
    offer_timeout_s: float = Field(default=180.0, gt=0)  # an offer unanswered this long goes to the next candidate
    care_interval_s: float = Field(default=5.0, gt=0)  # how often notices, offers and the close sweep run

    # dashboard
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    secret_key: SecretStr | None = None  # signs dashboard sessions; required with real servers
    public_url: str | None = None  # how families reach the platform, for reply links (https://…)

    # map: a tile preset of dashboard.settings.TILE_SOURCES; a URL or CRS given here overrides the preset's
    map_tiles: Literal["autonavi", "osm"] = "autonavi"
    tile_url: str | None = None
    tile_subdomains: str | None = None
    tile_crs: Literal["gcj02", "wgs84"] | None = None  # the datum the tiles are drawn in
    tile_attribution: str | None = None
    map_center: tuple[float, float] = (31.2304, 121.4737)  # WGS-84 (lat, lon); env: ANXIN_MAP_CENTER='[39.9, 116.4]'

    # notifications: signing keys have no defaults (generated only for local services)
    webhook_secret: SecretStr | None = None
    reply_secret: SecretStr | None = None
    mail_url: str | None = None  # Apprise mailto:// URL of the SMTP server for e-mail contacts
    id_key: SecretStr | None = None  # keys the hash that residents' ID numbers are stored and matched by

    log_level: str = "INFO"
    log_format: Literal["plain", "json"] = "plain"  # json: one JSON object per line, for log collectors


def load_settings() -> Settings:
    """Build the settings from the environment."""
    return Settings()

"""The dashboard's settings: built by the composition root and passed to `create_app`.

The secret key has no default: the app refuses to start without one.

The map's tiles come from a preset in `TILE_SOURCES` (AutoNavi by default, OpenStreetMap as the
alternative), whose URL may be overridden. Each source names the datum its tiles are drawn in: the pages
convert stored WGS-84 positions to GCJ-02 for tiles published in China (``dashboard/static/geo.js``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

TileCrs = Literal["gcj02", "wgs84"]


@dataclass(frozen=True, slots=True)
class TileSource:
    """One map tile source: its URL template, subdomains, the datum it is drawn in, and its credit line."""

    url: str
    subdomains: str
    crs: TileCrs
    attribution: str

    def overridden(
        self,
        url: str | None = None,
        subdomains: str | None = None,
        crs: TileCrs | None = None,
        attribution: str | None = None,
    ) -> TileSource:
        """Return this source with the values that are given replaced."""
        return TileSource(
            self.url if url is None else url,
            self.subdomains if subdomains is None else subdomains,
            self.crs if crs is None else crs,
            self.attribution if attribution is None else attribution,
        )


TILE_SOURCES: Final[dict[str, TileSource]] = {
    "autonavi": TileSource(
        "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}", "1234", "gcj02", "© 高德地图 AutoNavi"
    ),
    "osm": TileSource("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "", "wgs84", "© OpenStreetMap contributors"),
}


class DashboardSettings(BaseModel):
    """What the dashboard needs to run: its secret, its clocks and limits, and where it listens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret_key: SecretStr = Field(min_length=32)
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh-CN"
    session_ttl_s: int = Field(default=8 * 3600, ge=60)
    cookie_secure: bool = True  # set False only for plain-http development on loopback
    allowed_origins: tuple[str, ...] = ()  # empty: only the origin the request itself was sent to
    # Sign-in throttling (dashboard.throttle): after the free failures, each attempt waits 1, 2, 4 ... s up to a
    # cap; failures older than the window are forgotten, and an account's are forgotten at its next success.
    login_window_s: int = Field(default=900, ge=1)
    login_free_failures_user: int = Field(default=3, ge=0)
    login_free_failures_ip: int = Field(default=10, ge=0)
    login_delay_base_s: float = Field(default=1.0, gt=0)
    login_delay_cap_user_s: float = Field(default=60.0, gt=0)
    login_delay_cap_ip_s: float = Field(default=300.0, gt=0)
    alerts_topic: str = "anxin/v1/alerts"  # alert changes arrive on {alerts_topic}/{resident_id}
    device_topic_prefix: str = "ec/v1"  # device status arrives on {device_topic_prefix}/{device_id}/status
    tile_url: str = TILE_SOURCES["autonavi"].url
    tile_subdomains: str = TILE_SOURCES["autonavi"].subdomains
    tile_crs: TileCrs = TILE_SOURCES["autonavi"].crs  # the datum the tiles are drawn in
    tile_attribution: str = TILE_SOURCES["autonavi"].attribution
    map_center: tuple[float, float] = (31.2304, 121.4737)  # WGS-84 (lat, lon), like every stored position
    low_battery_pct: int = Field(default=20, ge=0, le=100)
    offline_after_s: int = Field(default=15 * 60, ge=1)
    web_root: str | None = None  # folder with node_modules; default: dashboard/web beside this file

    @property
    def topic_root(self) -> str:
        """Return the platform's topic root (``anxin/v1``): alerts, dispatch and staff positions live under it."""
        return self.alerts_topic.rsplit("/", 1)[0]

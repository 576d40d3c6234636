"""Keep the local broker's password and ACL files in step with the device registry, without a restart.

The local broker that `anxin run` starts lets no anonymous client in: every device signs in with its own
secret, and the platform's own connections (core bus, ingest, ingest events) with service accounts made
afresh at each start — nothing else connects with them, so their secrets need never be written down
outside the broker's password file. The devices' hashes live in ``device_credentials`` (ingest); the
files are rendered by ``gateway.provisioning`` and the broker reads them again on SIGHUP. A production
Mosquitto is kept in step by ``anxin devices provision`` and a SIGHUP; an EMQX cluster through its HTTP
API (docs/operations.md), and the platform signs in there with the accounts its settings name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final

from pydantic import SecretStr

from anxin.services import LocalMosquitto
from anxin.settings import Settings
from gateway.provisioning import (
    PLATFORM_ROOT,
    Account,
    acl_file,
    hash_password,
    new_secret,
    password_file,
    relays,
    service_username,
)
from ingest.credentials import load_credential_hashes
from ingest.devices import load_devices

LOG = logging.getLogger("anxin.broker_access")

# The platform's connections (`Settings.broker_account`) → their SERVICE_ROLES role and instance number.
LOCAL_CONNECTIONS: Final[Mapping[str, tuple[str, int]]] = {
    "core": ("core", 1),
    "ingest": ("ingest", 1),
    "ingest_events": ("ingest", 2),  # the events connection reads what ingest reads, as its own account
    "ingest_urgent": ("ingest", 3),  # so does the urgent lane
}


def local_service_accounts() -> dict[str, Account]:
    """Make an account with a new secret for each of the platform's connections to its local broker."""
    return {
        connection: Account(service_username(role, instance), new_secret(), role)
        for connection, (role, instance) in LOCAL_CONNECTIONS.items()
    }


def with_accounts(settings: Settings, accounts: Mapping[str, Account]) -> Settings:
    """Return the settings with the platform's connections signing in as ``accounts``."""
    update: dict[str, object] = {}
    for connection, account in accounts.items():
        field = "mqtt" if connection == "core" else f"mqtt_{connection}"
        update |= {f"{field}_username": account.username, f"{field}_password": SecretStr(account.password)}
    return settings.model_copy(update=update)


def broker_reloader(
    broker: LocalMosquitto,
    connection: Callable[[], AbstractContextManager[Any]],
    prefix: str,
    services: Sequence[Account] = (),
    root: str = PLATFORM_ROOT,
) -> Callable[[], None]:
    """Make the callable that writes every device's and service's credentials and ACL into the broker and reloads it."""
    service_hashes = {s.username: hash_password(s.password) for s in services}

    def reload() -> None:
        with connection() as conn:
            hashes = load_credential_hashes(conn)
            relayed = relays(load_devices(conn))
        acl = acl_file(hashes, services, prefix, root, relayed)
        broker.install_access(password_file(hashes | service_hashes), acl)
        LOG.info("broker reloaded: %d devices sign in with their own credentials", len(hashes))

    return reload


def secure_local_broker(
    settings: Settings, broker: LocalMosquitto, connection: Callable[[], AbstractContextManager[Any]]
) -> tuple[Settings, Callable[[], None]]:
    """Give the platform's connections accounts on the local broker; return their settings and the reloader."""
    accounts = local_service_accounts()
    reload = broker_reloader(broker, connection, settings.topic_prefix, tuple(accounts.values()), settings.topic_root)
    reload()  # before the platform connects: the broker lets only accounts in
    return with_accounts(settings, accounts), reload

"""Keep the local broker's password and ACL files in step with the device registry, without a restart.

The hashes live in ``device_credentials`` (ingest); the files are rendered by ``gateway.provisioning``
and the broker reads them again on SIGHUP. A production Mosquitto is kept in step by
``anxin devices provision`` and a SIGHUP; an EMQX cluster through its HTTP API (docs/operations.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from anxin.services import LocalMosquitto
from gateway.provisioning import acl_file, password_file
from ingest.credentials import load_credential_hashes

LOG = logging.getLogger("anxin.broker_access")


def broker_reloader(
    broker: LocalMosquitto, connection: Callable[[], AbstractContextManager[Any]], prefix: str
) -> Callable[[], None]:
    """Make the callable that writes every device's credentials and ACL into the broker and reloads it."""

    def reload() -> None:
        with connection() as conn:
            hashes = load_credential_hashes(conn)
        broker.install_access(password_file(hashes), acl_file(hashes, (), prefix, open_anonymous=True))
        LOG.info("broker reloaded: %d devices sign in with their own credentials", len(hashes))

    return reload

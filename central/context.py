"""What every request handler and command needs, built once per process from the configuration.

Nothing here is mutable state of the service: the engine is a connection
pool, the keys and the blob store are read-only handles. Two processes built
from the same configuration behave as one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from central.ants import AntsClient
from central.blobstore import BlobStore, create_blobstore
from central.config import CentralConfig
from central.datadir import make_private
from central.db import make_engine, session_factory, upgrade
from central.keys import ServiceKeys, load_keys


@dataclass
class Services:
    config: CentralConfig
    engine: Engine
    db: sessionmaker[Session]
    keys: ServiceKeys
    blobs: BlobStore
    clock: Callable[[], float] = field(default=time.time)
    #: The agency's API (``central.ants``), or None when the connector is off.
    ants: AntsClient | None = None

    def now(self) -> datetime:
        """The service's time (UTC) from its clock, which tests replace."""
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    def close(self) -> None:
        self.engine.dispose()
        if self.ants is not None:
            self.ants.close()


def build_services(config: CentralConfig, migrate: bool = True) -> Services:
    make_private(config.data_dir)  # before anything is created in it
    engine = make_engine(config.database_url)
    if migrate:
        upgrade(engine)
    ants = AntsClient(config.ants_url, config.ants_token, config.ants_timeout_s) if config.ants_url else None
    return Services(config=config, engine=engine, db=session_factory(engine), keys=load_keys(config.keys_dir),
                    blobs=create_blobstore(config), ants=ants)

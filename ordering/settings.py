"""Configuration from the environment: one place that reads it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from ordering.domain.policy import OrderPolicy
from ordering.store import FACTORY_TOPIC, SQLITE_FACTORY_TOPIC

DEFAULT_INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


@dataclass(frozen=True)
class Settings:
    database_url: str
    instance_dir: Path
    policy: OrderPolicy = field(default_factory=OrderPolicy)
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    rate_limit_identified: str = "600 per second"
    rate_limit_anonymous: str = "20 per second"
    rate_limit_storage: str = "memory://"
    postgres_pool_size: int = 5
    db_pool_timeout_seconds: float = 5.0
    postgres_schema: str | None = None
    expiry_interval_seconds: float = 5.0  # the longest the scheduler waits between looks
    expiry_preload_seconds: float = 2.0  # orders due this soon (at least) are read ahead
    embedded_scheduler: bool = False
    idempotency_ttl: timedelta = timedelta(hours=24)  # how long an answer to a key is kept
    # A thread of each web process follows the log into the read model (off in tests, where
    # searches project what they need themselves).
    read_model_follower: bool = False
    idempotency_lease: timedelta = timedelta(seconds=60)  # a claim outlives no request longer
    cors_origins: tuple[str, ...] = ()
    scheduler_metrics_port: int | None = None
    process_kind: str = "web"  # web, scheduler or cli: names the PostgreSQL connections

    @property
    def application_name(self) -> str:
        """What ``pg_stat_activity`` shows for this process's connections."""
        return f"order-service-{self.process_kind}"

    def for_process(self, kind: str) -> Settings:
        return replace(self, process_kind=kind)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def sqlite_path(self) -> str:
        return self.database_url.removeprefix("sqlite:///")

    @property
    def sqlite_read_model_path(self) -> str:
        """On SQLite the read model has a file of its own, so its writes never block the events'."""
        events = Path(self.sqlite_path)
        return str(events.with_name(f"{events.stem}-readmodel{events.suffix}"))

    def eventsourcing_env(self, create_table: bool = False) -> dict[str, str]:
        """The environment the eventsourcing library reads for its persistence."""
        env = {"CREATE_TABLE": "y" if create_table else "n"}
        if not self.is_postgres:
            return env | {
                "PERSISTENCE_MODULE": SQLITE_FACTORY_TOPIC,
                "SQLITE_DBNAME": self.sqlite_path,
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        url = urlparse(self.database_url)
        env |= {
            "PERSISTENCE_MODULE": FACTORY_TOPIC,
            "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_pool_size),
            "POSTGRES_CONNECT_TIMEOUT": str(max(1, round(self.db_pool_timeout_seconds))),
            "ORDERS_APPLICATION_NAME": self.application_name,
        }
        if self.postgres_schema:
            env["POSTGRES_SCHEMA"] = self.postgres_schema
        return env


def _minutes(environ: Mapping[str, str], name: str, default: float) -> timedelta:
    return timedelta(minutes=float(environ.get(name, default)))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    instance_dir = Path(environ.get("ORDERS_INSTANCE_DIR", DEFAULT_INSTANCE_DIR))
    default_db = f"sqlite:///{instance_dir / 'orders.sqlite3'}"
    return Settings(
        database_url=environ.get("DATABASE_URL", default_db),
        instance_dir=instance_dir,
        policy=OrderPolicy(
            draft_ttl=_minutes(environ, "ORDER_DRAFT_TTL_MINUTES", 20),
            lock_timeout=_minutes(environ, "ORDER_LOCK_TIMEOUT_MINUTES", 10),
            refund_option_ttl=_minutes(environ, "REFUND_OPTION_TTL_MINUTES", 15),
            default_currency=environ.get("ORDER_DEFAULT_CURRENCY", "NOK"),
        ),
        jwt_secret=environ.get("JWT_SECRET") or None,
        jwt_public_key=_read_key(environ.get("JWT_PUBLIC_KEY")),
        rate_limit_identified=environ.get("RATE_LIMIT_IDENTIFIED", "600 per second"),
        rate_limit_anonymous=environ.get("RATE_LIMIT_ANONYMOUS", "20 per second"),
        rate_limit_storage=environ.get("RATE_LIMIT_STORAGE_URI", "memory://"),
        postgres_pool_size=int(environ.get("POSTGRES_POOL_SIZE", 5)),
        db_pool_timeout_seconds=float(environ.get("DB_POOL_TIMEOUT_SECONDS", 5)),
        postgres_schema=environ.get("POSTGRES_SCHEMA") or None,
        expiry_interval_seconds=float(environ.get("ORDER_EXPIRY_INTERVAL_SECONDS", 5)),
        expiry_preload_seconds=float(environ.get("ORDER_EXPIRY_PRELOAD_SECONDS", 2)),
        idempotency_ttl=timedelta(hours=float(environ.get("IDEMPOTENCY_KEY_TTL_HOURS", 24))),
        read_model_follower=environ.get("READ_MODEL_FOLLOWER", "1") not in ("0", "false", "no"),
        embedded_scheduler=environ.get("ORDERS_EMBEDDED_SCHEDULER", "") in ("1", "true", "yes"),
        scheduler_metrics_port=int(environ["SCHEDULER_METRICS_PORT"]) if environ.get(
            "SCHEDULER_METRICS_PORT") else None,
        cors_origins=tuple(o.strip() for o in environ.get("CORS_ORIGINS", "").split(",") if o.strip()),
    )


def _read_key(value: str | None) -> str | None:
    """A PEM given inline, or the path of a PEM file."""
    if not value:
        return None
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()

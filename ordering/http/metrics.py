"""``GET /metrics``: Prometheus text, no token (contract section 5).

The counters and histograms are this process's, or under gunicorn every worker's added up
(``ordering.metrics``). The rest is read from the database when scraped, so every worker
answers alike: read-model lag in events and seconds, expiry lag, parked orders, and which
scheduler instance holds the expiry lead (PostgreSQL).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Blueprint
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from werkzeug.wrappers import Response

from ordering.http.requests import ServiceHolder, holder
from ordering.metrics import process_registry
from ordering.scheduling import leadership_key
from projections import ReadModel, lag

log = logging.getLogger(__name__)
metrics = Blueprint("metrics", __name__)

LEADER_SQL = (
    "SELECT a.application_name, COALESCE(host(a.client_addr), 'local') FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.classid = 0 AND l.objid = CAST(CAST(? AS bigint) AS oid) AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


class ServiceState(Collector):
    """Gauges read from the stores at scrape time; a store that cannot answer says so."""

    def __init__(self, services: ServiceHolder) -> None:
        self.holder = services

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("order_service_database_up", "1 when the stores answered this scrape")
        try:
            gauges = list(self._gauges())
        except Exception as error:  # a scrape never fails: it reports the store down
            log.warning("metrics: the stores did not answer: %s: %s", type(error).__name__, error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _gauges(self) -> Iterator[Metric]:
        services = self.holder.services()
        application = services.application
        now = application.clock()
        measured = lag.measure(services.read_model, now, now - application.policy.lock_timeout)
        yield GaugeMetricFamily("order_service_read_model_lag_events",
                                "Events stored that the read model has not applied yet",
                                value=measured.events)
        yield GaugeMetricFamily("order_service_read_model_lag_seconds",
                                "Age of the oldest event the read model has not applied yet",
                                value=measured.seconds)
        yield GaugeMetricFamily("order_service_expiry_lag_seconds",
                                "How long the most overdue order has waited past its expireAt",
                                value=measured.expiry_seconds)
        yield GaugeMetricFamily("order_service_parked_orders", "Orders the read model parked",
                                value=services.read_model.health()["parked"])
        if self.holder.settings.is_postgres:
            yield self._leader(services.read_model)

    def _leader(self, read_model: ReadModel) -> Metric:
        leader = GaugeMetricFamily("order_service_scheduler_leader_info",
                                   "The scheduler instance that holds the expiry lead (1)",
                                   labels=["instance", "client_addr"])
        with read_model.database.transaction() as cursor:
            cursor.execute(LEADER_SQL, (leadership_key(self.holder.settings),))
            for instance, address in cursor.fetchall():
                leader.add_metric([instance, address], 1)
        return leader


@metrics.get("/metrics")
def scrape() -> Response:
    state = CollectorRegistry(auto_describe=False)
    state.register(ServiceState(holder()))
    body = generate_latest(process_registry()) + generate_latest(state)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

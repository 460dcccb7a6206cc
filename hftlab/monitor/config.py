"""The monitoring section (`monitor:`): where /metrics is served, how often resources are checked and
the status hash is published.

Ports: `prometheus_port` is the collector's; the live runner serves on the next port and the
simulator on the one after (`COMPONENT_PORT_OFFSET`), so the three can run side by side and the scrape
configuration in config/monitoring/prometheus.yml knows where each one is. 0 means a free port for
every component (each prints the URL it took and publishes it in Redis).
"""

from __future__ import annotations

from pydantic import Field

from hftlab.core.config import Section

COMPONENT_PORT_OFFSET = {"collect": 0, "live": 1, "sim": 2}


class MonitorConfig(Section):
    export: bool = Field(True, description="serve Prometheus metrics on /metrics")
    prometheus_host: str = Field("127.0.0.1", description="listen address of /metrics (loopback by default)")
    prometheus_port: int = Field(9108, ge=0, le=65533,
                                 description="the collector's port; live +1, sim +2; 0: a free port each")
    interval_s: float = Field(5.0, gt=0, le=3600,
                              description="how often the status hash (hftlab status) is published to Redis")
    guard_interval_s: float = Field(1.0, gt=0, le=3600,
                                    description="how often memory is checked against system.max_memory_usage")
    loop_lag_interval_s: float = Field(0.1, gt=0, le=60, description="how often the event loop's lag is sampled")
    status_refresh_s: float = Field(1.0, gt=0, le=3600, description="`hftlab status` redraws this often")

    def port_for(self, component: str) -> int:
        """The /metrics port of `component` (collect, live, sim); 0: a free one."""
        return self.prometheus_port + COMPONENT_PORT_OFFSET[component] if self.prometheus_port else 0

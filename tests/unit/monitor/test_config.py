import pytest
from pydantic import ValidationError

from hftlab.monitor.config import COMPONENT_PORT_OFFSET, MonitorConfig


def test_each_component_has_its_port_and_zero_means_free_ports():
    cfg = MonitorConfig()
    assert cfg.prometheus_host == "127.0.0.1", "loopback by default"
    assert {c: cfg.port_for(c) for c in COMPONENT_PORT_OFFSET} == {"collect": 9108, "live": 9109, "sim": 9110}
    assert {MonitorConfig(prometheus_port=0).port_for(c) for c in COMPONENT_PORT_OFFSET} == {0}
    with pytest.raises(ValidationError):
        MonitorConfig(prometheus_port=65535)  # the simulator's port would not exist

import datetime as dt
import enum
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from hftlab.core.jsonutil import dumps, json_default


class _Colour(enum.StrEnum):
    RED = "red"


@dataclass
class _Point:
    x: int


def test_the_types_hftlab_documents_hold():
    doc = {"n": np.int64(3), "f": np.float32(0.5), "a": np.arange(3), "p": Path("/tmp/x"), "d": Decimal("0.10"),
           "t": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "e": _Colour.RED, "pt": _Point(1), "s": {2, 1}}
    assert json.loads(dumps(doc)) == {"n": 3, "f": 0.5, "a": [0, 1, 2], "p": "/tmp/x", "d": "0.10",
                                      "t": "2026-01-02T03:04:05+00:00", "e": "red", "pt": {"x": 1}, "s": [1, 2]}


def test_unknown_types_raise_naming_the_type():
    with pytest.raises(TypeError, match="object"):
        json_default(object())

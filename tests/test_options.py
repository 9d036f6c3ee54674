"""Option values against their field's type: numbers coerced where nothing is lost, anything else named."""
from typing import Any

import numpy as np
import pytest

from datadistill.errors import ConfigError
from datadistill.options import typed


def test_numbers_are_coerced_where_nothing_is_lost():
    assert typed("lr", 1, float, "C") == 1.0 and type(typed("lr", 1, float, "C")) is float
    assert typed("n", np.int64(3), int, "C") == 3 and type(typed("n", np.int64(3), int, "C")) is int
    assert typed("n", 1e3, int, "C") == 1000
    assert typed("n", None, int | None, "C") is None
    assert typed("kw", {"a": 1}, dict[str, Any], "C") == {"a": 1}  # other field types take any value


@pytest.mark.parametrize("value, hint, message", [
    (2.5, int, "option k=2.5 of C must be a whole number"),
    ("fast", float, "option k='fast' of C must be a number"),
    (1, bool, "option k=1 of C must be true or false"),
    (True, int, "option k=True of C must be a whole number"),
    (None, float, "option k=None of C must be a number"),
    (3, str | None, "option k=3 of C must be a string or null"),
])
def test_a_value_of_the_wrong_type_is_named(value, hint, message):
    with pytest.raises(ConfigError, match=message):
        typed("k", value, hint, "C")

import math

import pytest
import torch

from datadistill.errors import ConfigError
from datadistill.methods.matching import DISTANCES


def test_layerwise_distance_matches_hand_computation():
    # conv-like layer with 2 output channels: rows [1,0,0,0] vs [0,1,0,0] (cos 0) and [1,1,0,0] vs [2,2,0,0] (cos 1)
    gs = torch.tensor([[1.0, 0, 0, 0], [1, 1, 0, 0]]).reshape(2, 1, 2, 2)
    gr = torch.tensor([[0.0, 1, 0, 0], [2, 2, 0, 0]]).reshape(2, 1, 2, 2)
    # linear layer, one row: [3,4] vs [4,3] -> cos 24/25
    ls, lr = torch.tensor([[3.0, 4.0]]), torch.tensor([[4.0, 3.0]])
    bias_s, bias_r = torch.tensor([1.0, 2.0]), torch.tensor([-5.0, 7.0])  # ignored
    d = DISTANCES.get("ours")([gs, ls, bias_s], [gr, lr, bias_r])
    expected = (1 - 0) + (1 - 1) + (1 - 24 / 25)
    assert d.item() == pytest.approx(expected, abs=1e-5)


def test_euclidean_and_cosine_alternatives():
    a, b = [torch.tensor([1.0, 2.0]), torch.tensor([[3.0]])], [torch.tensor([0.0, 2.0]), torch.tensor([[1.0]])]
    assert DISTANCES.get("mse")(a, b).item() == pytest.approx(1 + 0 + 4)
    cos = (0 + 4 + 3) / (math.sqrt(14) * math.sqrt(5))
    assert DISTANCES.get("cos")(a, b).item() == pytest.approx(1 - cos, abs=1e-6)


def test_unknown_distance_lists_known():
    with pytest.raises(ConfigError, match="known: .*ours"):
        DISTANCES.get("l7")

"""Network ops: per-network values from blocks in depth order, with NaN padding ignored."""

from __future__ import annotations

import math

import pytest
import torch

from eznas.gp.network import NET_OPS, get_net_op, padded


def depth(*networks: list[float]) -> torch.Tensor:
    """(1 program, networks, depth) NaN-padded, as ``padded`` builds it."""
    net = torch.tensor([i for i, n in enumerate(networks) for _ in n])
    block = torch.tensor([b for n in networks for b in range(len(n))])
    values = torch.tensor([[v for n in networks for v in n]], dtype=torch.float64)
    return padded(values, net, block, len(networks))


def test_padding_and_the_plain_reductions():
    values = depth([1.0, 3.0, 2.0], [4.0])
    assert values.shape == (1, 2, 3) and math.isnan(values[0, 1, 1])
    assert NET_OPS["mean"](values).tolist() == [[2.0, 4.0]]
    assert NET_OPS["sum"](values).tolist() == [[6.0, 4.0]]
    assert NET_OPS["amax"](values).tolist() == [[3.0, 4.0]]
    assert NET_OPS["amin"](values).tolist() == [[1.0, 4.0]]
    assert NET_OPS["std"](values)[0, 0] == pytest.approx(
        torch.tensor([1.0, 3, 2]).std(correction=0)
    )


def test_depth_ops_read_the_block_order():
    values = depth([1.0, 3.0, 2.0], [4.0, 8.0], [5.0])
    assert NET_OPS["min_step"](values)[0, :2].tolist() == [-1.0, 4.0]
    assert NET_OPS["max_step"](values)[0, :2].tolist() == [2.0, 4.0]
    assert math.isnan(NET_OPS["min_step"](values)[0, 2])  # one block: no step
    assert NET_OPS["last_first"](values).tolist() == [[2.0, 2.0, 1.0]]
    assert NET_OPS["first"](values).tolist() == [[1.0, 4.0, 5.0]]
    assert NET_OPS["last"](values).tolist() == [[2.0, 8.0, 5.0]]
    assert NET_OPS["last_first"](depth([0.0, 1.0]))[0, 0] == 0  # protected division


def test_unknown_network_op_names_the_allowed_ones():
    with pytest.raises(ValueError, match="min_step"):
        get_net_op("median")


def test_stage_ops_count_each_run_of_equal_values_once():
    """Blocks of one stage give one value (they read one shared stage input): stage ops
    see each run of equal consecutive values once."""
    values = depth([1.0, 1.0, 3.0, 3.0, 3.0, 2.0], [4.0, 4.0], [5.0, 6.0, 5.0])
    assert NET_OPS["stage_mean"](values).tolist() == [[2.0, 4.0, 16 / 3]]
    steps = NET_OPS["stage_min_step"](values)[0]
    assert steps[0] == -1.0 and math.isnan(steps[1]) and steps[2] == -1.0
    assert NET_OPS["min_step"](values)[0, 0] == -1.0 and NET_OPS["mean"](values)[0, 1] == 4.0

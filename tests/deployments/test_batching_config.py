"""Batching knobs of the model deployments come from the Serve config's user_config."""

from __future__ import annotations

import pytest

from deployments.tabular import TabularPredictor, batching_options
from deployments.text import TextEncoder


def test_batching_options_are_validated():
    assert batching_options({}, default_size=64, default_wait=0.002) == (64, 0.002)
    assert batching_options({"max_batch_size": 1, "batch_wait_timeout_s": 0},
                            default_size=64, default_wait=0.002) == (1, 0.0)
    for bad in ({"max_batch_size": 0}, {"max_batch_size": 2000}, {"max_batch_size": "8"},
                {"max_batch_size": True}, {"batch_wait_timeout_s": -1},
                {"batch_wait_timeout_s": 5}, {"batch_size": 8}):
        with pytest.raises(ValueError, match=r"max_batch_size|batch_wait_timeout_s"):
            batching_options(bad, default_size=64, default_wait=0.002)


@pytest.mark.parametrize(("deployment", "method"), [(TabularPredictor, "predict"),
                                                     (TextEncoder, "_embed_batch")])
def test_reconfigure_sets_the_batch_queue(deployment, method, tmp_path):
    cls = deployment.func_or_class
    replica = cls.__new__(cls)  # the batching knobs need no model loaded
    replica.reconfigure({"max_batch_size": 1, "batch_wait_timeout_s": 0.01})
    batched = getattr(replica, method)
    assert batched._get_max_batch_size() == 1
    assert batched._get_batch_wait_timeout_s() == 0.01

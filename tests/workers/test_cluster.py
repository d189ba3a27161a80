"""The workers of a run (siamese.workers.cluster): TF_CONFIG from --workers or the environment."""

from __future__ import annotations

import json

import pytest

from siamese.errors import SiameseError
from siamese.workers.cluster import parse_workers, read_cluster, tf_config


def test_workers_option_builds_tf_config():
    workers = parse_workers("10.0.0.1:2222, 10.0.0.2:2222")
    cluster = read_cluster({"TF_CONFIG": tf_config(workers, 1)})
    assert cluster.addresses == ("10.0.0.1:2222", "10.0.0.2:2222") and cluster.index == 1 and not cluster.is_chief
    chief = read_cluster({"TF_CONFIG": json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "chief", "index": 0}})})
    assert chief.is_chief and chief.peers == ["b:1"]
    for bad in ["a:1", "a,b:1", "a:1,a:1", "a:99999,b:1"]:
        with pytest.raises(SiameseError, match="--workers"):
            parse_workers(bad)
    with pytest.raises(SiameseError, match="--worker-index 2"):
        tf_config(workers, 2)
    with pytest.raises(SiameseError, match="TF_CONFIG"):
        read_cluster({"TF_CONFIG": "{}"})

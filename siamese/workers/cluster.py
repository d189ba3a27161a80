"""The workers of a multi-worker run: TF_CONFIG built from ``--workers`` or read from the environment.

Imports no TensorFlow: the process that supervises a worker (``siamese.workers.supervisor``)
reads the cluster from here and stays light.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from siamese.errors import SiameseError


@dataclass(frozen=True)
class Cluster:
    """The workers of a run and which one this process is.

    Attributes:
        addresses: every task's HOST:PORT, the chief (the run's writer) first.
        index: this process's position in ``addresses``.
    """

    addresses: tuple[str, ...]
    index: int

    @property
    def is_chief(self) -> bool:
        """Whether this worker writes the run (the chief, or worker 0 when there is no chief)."""
        return self.index == 0

    @property
    def peers(self) -> list[str]:
        return [a for i, a in enumerate(self.addresses) if i != self.index]

    def name(self, index: int | None = None) -> str:
        """``worker I (HOST:PORT)``, for messages."""
        index = self.index if index is None else index
        return f"worker {index} ({self.addresses[index]})"


def parse_workers(text: str) -> list[str]:
    """``HOST:PORT,HOST:PORT,...`` as a list; raises SiameseError naming a bad entry."""
    workers = [w.strip() for w in text.split(",") if w.strip()]
    for worker in workers:
        host, _, port = worker.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SiameseError(f"--workers entry {worker!r} is not HOST:PORT; list every worker as HOST:PORT, separated by commas")
    if len(workers) < 2:
        raise SiameseError(f"--workers {text!r} lists {len(workers)} worker; list at least two HOST:PORT entries, the same on every worker")
    if len(set(workers)) < len(workers):
        raise SiameseError(f"--workers {text!r} lists a worker twice; give each worker its own HOST:PORT")
    return workers


def tf_config(workers: list[str], index: int) -> str:
    """The TF_CONFIG of worker ``index`` of ``workers`` (worker 0 is the chief)."""
    if not 0 <= index < len(workers):
        raise SiameseError(f"--worker-index {index} is not one of the {len(workers)} workers listed; use 0 to {len(workers) - 1}")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def read_cluster(environ: Mapping[str, str] = os.environ) -> Cluster:
    """The cluster described by TF_CONFIG (``chief`` and ``worker`` tasks).

    Raises:
        SiameseError: TF_CONFIG is missing, not JSON, or does not name this task.
    """
    text = environ.get("TF_CONFIG")
    if not text:
        raise SiameseError("multi-worker training needs the workers: give --workers HOST:PORT,HOST:PORT --worker-index I, or set TF_CONFIG")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        addresses = list(cluster.get("chief", [])) + list(cluster.get("worker", []))
        offset = 0 if task["type"] == "chief" else len(cluster.get("chief", []))
        if task["type"] not in ("chief", "worker"):
            raise ValueError
        index = offset + int(task["index"])
        if not 0 <= index < len(addresses) or len(addresses) < 2:
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SiameseError("TF_CONFIG does not describe a chief or worker task of a cluster of two or more; "
                           "see TensorFlow's multi-worker guide, or use --workers and --worker-index") from None
    return Cluster(tuple(addresses), index)


def local_addresses(n: int) -> str:
    """``--workers`` for ``n`` workers on this machine: 127.0.0.1 with ports free now (for tests and benchmarks)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ",".join(f"127.0.0.1:{p}" for p in ports)

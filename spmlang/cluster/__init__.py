"""Runs on a Dask cluster: the same plan, the same lines, on many machines (docs/scale.md).

The only package that imports Dask, and only when a run asks for a cluster. The work is split where a plan
allows it: transactions are read and routed per piece (:mod:`~spmlang.cluster.pieces`), to the payee groups
whose payees they may credit (:mod:`~spmlang.cluster.groups`); Dask's shuffle brings each group its rows;
each group is paid by the engine of a run on one machine (:mod:`~spmlang.cluster.paying`), on a worker
(:mod:`~spmlang.cluster.work`); the client adds up what they sent back (:mod:`~spmlang.cluster.run`).
"""

from spmlang.cluster.connect import connected, need_dask
from spmlang.cluster.run import ClusterRun, refuse_what_is_not_yet_distributed, run_on_cluster

__all__ = ["ClusterRun", "connected", "need_dask", "refuse_what_is_not_yet_distributed", "run_on_cluster"]

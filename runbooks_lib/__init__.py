"""runbooks_lib: the library behind the Kubernetes on-call runbooks.

Data flows one way: source -> cluster state -> tidy frames -> detectors -> findings
-> notebooks and reports.
"""

__version__ = "0.1.0"


def load(source=None, namespace=None, now=None, **live):
    """Load a snapshot, manifest set, single file or bundled example into a ClusterState;
    or a live cluster with ``context=NAME`` / ``in_cluster=True`` (GET only)."""
    from .sources import load as _load

    return _load(source, namespace=namespace, now=now, **live)

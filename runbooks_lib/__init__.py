"""runbooks_lib: the library behind the Kubernetes on-call runbooks.

Data flows one way: source -> cluster state -> tidy frames -> detectors -> findings
-> notebooks and reports.
"""

import sys

__version__ = "0.1.0"

# jsonschema imports rfc3987_syntax when it is installed (jupyterlab's dependencies bring it), and that
# builds a Lark grammar at import: 1.5 s of CPU in every process that imports nbformat, i.e. papermill,
# nbconvert and scrapbook (up to 6 s in a kernel), for IRI format checks nothing here uses. Without it
# jsonschema just does not check the "iri" formats. Left alone if something imported it already.
sys.modules.setdefault("rfc3987_syntax", None)


def load(source=None, namespace=None, now=None, **live):
    """Load a snapshot, manifest set, single file or bundled example into a ClusterState;
    or a live cluster with ``context=NAME`` / ``in_cluster=True`` (GET only)."""
    from .sources import load as _load

    return _load(source, namespace=namespace, now=now, **live)

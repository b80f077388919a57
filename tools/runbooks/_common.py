"""Cells every runbook shares: the parameters cell and the loading cell."""

from nbbuild import code, md

# Rows a table shows on a big cluster (the worst first, with a note saying how many more):
# below pandas' display.max_rows (60), so pandas shows them all rather than the first and last five.
MAX_ROWS = 50
# Findings shown in full, with their evidence and fix (each is a screenful or more).
MAX_FINDINGS = 20

PARAMETERS_HELP = md("""
**Parameters.** `source`: a snapshot directory, a `kubectl get -o json|yaml` file, manifests, a
kustomization, or a bundled example name. `namespace` and `workload` narrow the view (empty:
everything). `now` overrides the reference time for ages (empty: the snapshot's capture time).
`context` reads a live cluster instead (a kubeconfig context, or `in-cluster`), read-only.
On a big cluster each table and plot shows the worst rows first and says how many more there
are: narrow with `namespace` or `workload` to see the rest.
""")


def parameters(**extra: str):
    lines = ['source: str = "staging-incident"  # snapshot dir, file, manifests, kustomization or bundled example',
             'namespace: str = ""  # empty: all namespaces',
             'workload: str = ""  # empty: every workload; e.g. staging-mcp-server-langgraph',
             'now: str = ""  # RFC 3339; empty: the snapshot\'s capture time',
             'context: str = ""  # kubeconfig context to read live instead of source; "in-cluster" in a pod']
    lines += [f"{name} = {value}" for name, value in extra.items()]
    return code("\n".join(lines), parameters=True)


def load_cell(rules: list[str]):
    rule_list = ", ".join(f'"{rule}"' for rule in rules)
    return code(f"""
from runbooks_lib import notebook as rb, plots

state = rb.open_source(source, namespace, now, context)
result = rb.detect(state, rules=[{rule_list}])
findings = [f for f in result.findings if not workload or f.name == workload]
rb.findings_table(findings, max_rows={MAX_ROWS})
""")

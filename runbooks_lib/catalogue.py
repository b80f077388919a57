"""The rule catalogue, generated from the registry: docs/rules.md and ``runbooks rules``.

Each rule's entry lives next to its detector (the ``Rule`` it registers), so a
new failure class touches one module; this file only lays the entries out.
"""

from __future__ import annotations

from .registry import rules

_NEEDS_TEXT = {frozenset(): "static: works on manifests and snapshots"}


def catalogue_table() -> str:
    lines = [f"{'RULE':<30} {'SEVERITY':<9} {'RUNBOOK':<15} TITLE"]
    for rule in rules():
        lines.append(f"{rule.id:<30} {rule.severity:<9} {rule.runbook:<15} {rule.title}")
    return "\n".join(lines) + "\n"


def catalogue_markdown() -> str:
    out = ["# Rule catalogue", "",
           "Generated from the detector registry by `runbooks rules --markdown > docs/rules.md`;",
           "a test keeps this file in sync. Rule ids are part of the interface.", "",
           "| rule | severity | runbook | needs | title |", "|---|---|---|---|---|"]
    for rule in rules():
        out.append(f"| [`{rule.id}`](#{rule.id}) | {rule.severity} | `{rule.runbook}` | {_needs(rule.needs)} | {rule.title} |")
    for rule in rules():
        out += ["", f"## {rule.id}", "", f"**{rule.title}** · severity `{rule.severity}` · runbook "
                f"`notebooks/{rule.runbook}.ipynb` · {_needs(rule.needs)}", "",
                "### What it detects", "", rule.detects.strip(), "",
                "### Why it matters", "", rule.why.strip(), "",
                "### Example", "", rule.example.strip(), "",
                "### Fix", "", rule.fix.strip()]
    return "\n".join(out) + "\n"


def _needs(needs: frozenset[str]) -> str:
    return _NEEDS_TEXT.get(needs) or "needs " + ", ".join(sorted(needs))

"""docs/rules.md is generated from the registry; this keeps the two in step."""

from pathlib import Path

from runbooks_lib.catalogue import catalogue_markdown
from runbooks_lib.registry import rules
from runbooks_lib.resources import notebooks_dir

RULES_MD = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

# Rule ids are part of the interface (issues #3 and #4): renaming one breaks users' baselines and CI gates.
STABLE_RULE_IDS = {
    "crashloop", "oom-killed", "image-pull-failure", "container-config-error", "probe-http-error",
    "probe-connection-refused", "probe-timeout", "probe-port-not-served", "pending-unschedulable",
    "rollout-stuck", "stale-replicasets", "service-duplicate-port", "service-no-endpoints",
    "service-target-port-missing", "resource-pressure", "netpol-asymmetric", "netpol-dns-blocked",
}


def test_docs_rules_md_is_current():
    assert RULES_MD.read_text() == catalogue_markdown(), (
        "docs/rules.md is stale: run `runbooks rules --markdown > docs/rules.md`")


def test_every_stable_rule_id_is_registered():
    assert STABLE_RULE_IDS <= {rule.id for rule in rules()}


def test_every_rule_names_an_existing_runbook():
    books = {path.stem for path in notebooks_dir().glob("*.ipynb")}
    for rule in rules():
        assert rule.runbook in books, f"{rule.id} points at missing runbook {rule.runbook}"

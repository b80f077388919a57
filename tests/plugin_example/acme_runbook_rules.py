"""A third-party detector package, as a team would ship its own rules.

Its distribution declares, in pyproject.toml:

    [project.entry-points."runbooks_lib.detectors"]
    acme = "acme_runbook_rules"

Importing the module runs the @detector registration below.
"""

from runbooks_lib.findings import Evidence, Finding
from runbooks_lib.registry import Rule, detector
from runbooks_lib.state import RUNTIME

LATEST_TAG_RULE = Rule(
    id="acme-latest-tag",
    title="Image uses the mutable :latest tag",
    severity="warning",
    detects="A container image with the `:latest` tag or no tag at all.",
    why="A restart can pull a different image than the one that was tested.",
    example="image: ghcr.io/acme/api:latest",
    fix="Pin a version tag or a digest.",
    runbook="triage",
    needs=frozenset(),
)


@detector(LATEST_TAG_RULE)
def detect(state):
    containers = state.frames.containers
    for row in containers.itertuples(index=False):
        image = str(row.image or "")
        if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]:
            yield Finding(rule=LATEST_TAG_RULE.id, severity="warning", namespace=row.namespace,
                          kind=row.workload_kind, name=row.workload, container=row.container,
                          pods=(row.pod,), summary=f"{row.container} runs {image}",
                          evidence=(Evidence.from_field("mutable tag", path=f"spec.containers[{row.index}].image",
                                                        value=image),))

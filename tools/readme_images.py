"""Regenerate the README's pictures from the bundled example: python tools/readme_images.py"""

from pathlib import Path

from runbooks_lib import load, plots

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    state = load("staging-incident")
    plots.save(plots.pod_status_by_workload(state), ROOT / "docs" / "img" / "triage-pod-status.png")
    plots.save(plots.restarts_over_time(state), ROOT / "docs" / "img" / "triage-restarts.png")


if __name__ == "__main__":
    main()

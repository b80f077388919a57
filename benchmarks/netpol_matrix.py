"""Benchmark: the NetworkPolicy class matrix on a large synthetic cluster.

    python benchmarks/netpol_matrix.py [--pods 10000] [--policies 1000] [--seed 7] [--port 8080]

Synthesises a deterministic (seeded) cluster: namespaces with team/env labels,
Deployments and StatefulSets (whose per-pod label makes every replica its own
class), named ports, dual-stack IPs; and policies in the shapes real clusters
use: per-namespace default deny, DNS egress, app-to-app ingress on numbered and
named ports, cross-namespace egress with namespaceSelector, matchExpressions,
port ranges and ipBlocks with except. Prints pods, policies, classes and times.
Not a test: it measures (docs/network-policy.md quotes the figure).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runbooks_lib.netpol import PolicyEngine  # noqa: E402

TIERS = {"web": [("http", 8080)], "api": [("http", 8080), ("grpc", 9000)], "db": [("postgres", 5432)],
         "cache": [("redis", 6379)], "worker": [("metrics", 9090)]}


def synthesise(pod_count: int, policy_count: int, seed: int):
    rng = random.Random(seed)
    namespace_count = max(1, pod_count // 250)
    namespaces = {f"ns-{i:03d}": {"team": f"team-{i % 8}", "env": rng.choice(["prod", "staging", "dev"])}
                  for i in range(namespace_count)}
    pods, apps = [], {ns: [] for ns in namespaces}
    ns_names = list(namespaces)
    serial = 0
    while len(pods) < pod_count:
        ns = ns_names[serial % namespace_count]
        tier = rng.choice(list(TIERS))
        app = f"{tier}-{serial}"
        apps[ns].append((app, tier))
        stateful = tier in ("db", "cache") and rng.random() < 0.5
        replicas = min(rng.choice([1, 2, 3, 3, 5, 8]), pod_count - len(pods))
        template_hash = f"{rng.getrandbits(32):08x}"
        for replica in range(replicas):
            labels = {"app": app, "tier": tier, "version": rng.choice(["v1", "v2"]) if replica == 0 else "v1"}
            if stateful:
                labels["statefulset.kubernetes.io/pod-name"] = f"{app}-{replica}"
            else:
                labels["pod-template-hash"] = template_hash
            index = len(pods)
            ips = [{"ip": f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"}]
            if index % 20 == 0:
                ips.append({"ip": f"fd00::{index:x}"})
            ports = [{"name": name, "containerPort": number, "protocol": "TCP"} for name, number in TIERS[tier]]
            kind = "StatefulSet" if stateful else "Deployment"
            pods.append({"metadata": {"namespace": ns, "name": f"{app}-{replica}", "labels": labels,
                                      "annotations": {"runbooks.dev/stands-in-for": f"{kind}/{app}"}},
                         "spec": {"containers": [{"name": "app", "ports": ports}]},
                         "status": {"podIP": ips[0]["ip"], "podIPs": ips}})
        serial += 1
    policies = []

    def add(ns: str, name: str, spec: dict) -> None:
        policies.append({"metadata": {"namespace": ns, "name": f"{name}-{len(policies)}"}, "spec": spec})

    dns = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                   "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    for ns in ns_names:
        if len(policies) + 3 > policy_count:
            break
        add(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
        add(ns, "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]})
        if len(policies) < policy_count and rng.random() < 0.5:  # egress within the namespace
            add(ns, "allow-egress-in-namespace", {"podSelector": {}, "policyTypes": ["Egress"],
                                                  "egress": [{"to": [{"podSelector": {}}]}]})
    while len(policies) < policy_count:
        ns = rng.choice(ns_names)
        if not apps[ns]:
            continue
        app, tier = rng.choice(apps[ns])
        peer_app, peer_tier = rng.choice(apps[ns])
        shape = rng.random()
        selector = {"matchLabels": {"app": app}}
        if shape < 0.35:  # app-to-app ingress, numbered or named port
            port = rng.choice([{"port": TIERS[tier][0][1]}, {"port": TIERS[tier][0][0]}])
            add(ns, "allow-from-app", {"podSelector": selector, "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"app": peer_app}}}], "ports": [port]}]})
        elif shape < 0.55:  # cross-namespace egress with a namespaceSelector
            other = rng.choice(ns_names)
            target = rng.choice(apps[other]) if apps[other] else (peer_app, peer_tier)
            add(ns, "allow-egress", {"podSelector": selector, "policyTypes": ["Egress"], "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"team": namespaces[other]["team"]}},
                         "podSelector": {"matchLabels": {"app": target[0]}}}],
                 "ports": [{"port": TIERS[target[1]][0][0]}]}]})
        elif shape < 0.70:  # tier-wide ingress with matchExpressions
            add(ns, "allow-tiers", {"podSelector": {"matchExpressions": [
                {"key": "tier", "operator": "In", "values": [tier]}, {"key": "version", "operator": "NotIn", "values": ["v0"]}]},
                "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod", "staging"]}]},
                    "podSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}}],
                    "ports": [{"port": 8000, "endPort": 9100}]}]})
        elif shape < 0.80:  # internet egress, not the cluster
            add(ns, "allow-internet", {"podSelector": selector, "policyTypes": ["Egress"], "egress": [
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "192.168.0.0/16"]}}],
                 "ports": [{"port": 443}]}]})
        elif shape < 0.90:  # ingress from a pod CIDR slice, with an exception
            octet = rng.randrange(0, max(1, len(pods) >> 16) + 1)
            add(ns, "allow-cidr", {"podSelector": selector, "ingress": [
                {"from": [{"ipBlock": {"cidr": f"10.{octet}.0.0/16", "except": [f"10.{octet}.{rng.randrange(256)}.0/24"]}},
                          {"ipBlock": {"cidr": "fd00::/112"}}]}]})
        else:  # namespace-wide ingress from a team
            add(ns, "allow-team", {"podSelector": {}, "ingress": [
                {"from": [{"namespaceSelector": {"matchLabels": {"team": namespaces[ns]["team"]}}}],
                 "ports": [{"port": "http"}, {"port": "metrics"}]}]})
    return pods, policies, namespaces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--protocol", default="TCP")
    args = parser.parse_args(argv)

    pods, policies, namespaces = synthesise(args.pods, args.policies, args.seed)
    started = time.perf_counter()
    engine = PolicyEngine(pods, policies, namespaces)
    parsed = time.perf_counter()
    index = engine.class_index
    classed = time.perf_counter()
    matrix = engine.class_matrix(args.port, args.protocol)
    allowed = matrix.allowed
    done = time.perf_counter()
    print(f"pods={len(engine.pods)} policies={len(engine.policies)} namespaces={len(namespaces)} "
          f"classes={len(index.classes)} ip_blocks={len(index.ip_blocks)}")
    print(f"parse={parsed - started:.2f}s classes={classed - parsed:.2f}s "
          f"matrix({args.port}/{args.protocol})={done - classed:.2f}s total={done - started:.2f}s")
    print(f"allowed class pairs: {int(allowed.sum())} of {allowed.size} "
          f"({100 * allowed.mean():.1f}%), asymmetric: {int(matrix.asymmetric.sum())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

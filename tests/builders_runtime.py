"""Builders for pod-runtime tests (crash loops, OOM kills, image pulls, config errors).

Realistic container logs and kubelet messages, plus helpers that build a
Deployment with its ReplicaSet and pods in a given container state.
"""

from __future__ import annotations

from builders import NS, container, deployment, replicaset, ts, uid

# -- container logs, as the runtimes print them -------------------------------------------------

PY_IMPORT_TIME = """\
INFO:     Started server process [1]
2025-11-06 16:28:01,120 INFO config: loaded settings from environment
Traceback (most recent call last):
  File "/usr/local/bin/uvicorn", line 8, in <module>
    sys.exit(main())
  File "/usr/local/lib/python3.12/site-packages/uvicorn/main.py", line 410, in main
    run(app, host=host, port=port)
  File "/usr/local/lib/python3.12/site-packages/uvicorn/importer.py", line 19, in import_from_string
    module = importlib.import_module(module_str)
  File "/usr/local/lib/python3.12/importlib/__init__.py", line 90, in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
  File "<frozen importlib._bootstrap>", line 1387, in _gcd_import
  File "<frozen importlib._bootstrap_external>", line 999, in exec_module
  File "/app/src/mcp_server_langgraph/mcp/server_streamable.py", line 187, in <module>
    logger.info("Rate limiting enabled", extra={"strategy": "fixed-window"})
  File "/app/src/mcp_server_langgraph/observability/telemetry.py", line 1210, in info
    raise RuntimeError("Observability not initialized. Call init_observability() first.")
RuntimeError: Observability not initialized. Call init_observability() first."""
# The traceback starts on line 3 and ends on line 18 of this text.
PY_IMPORT_TIME_FIRST, PY_IMPORT_TIME_LAST = 3, 18

# The application installed as a wheel into the image's virtualenv: every frame is under site-packages.
PY_IMPORT_TIME_INSTALLED = """\
2025-11-06 16:27:31 [info     ] Loading configuration          env=staging
Traceback (most recent call last):
  File "/app/.venv/lib/python3.12/site-packages/mcp_server_langgraph/observability/telemetry.py", line 418, in get_logger
    return _providers["logger"]
           ~~~~~~~~~~^^^^^^^^^^
KeyError: 'logger'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/.venv/bin/uvicorn", line 8, in <module>
    sys.exit(main())
             ^^^^^^
  File "/app/.venv/lib/python3.12/site-packages/uvicorn/config.py", line 435, in load
    self.loaded_app = import_from_string(self.app)
                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/.venv/lib/python3.12/site-packages/uvicorn/importer.py", line 19, in import_from_string
    module = importlib.import_module(module_str)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/importlib/__init__.py", line 90, in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "<frozen importlib._bootstrap>", line 1387, in _gcd_import
  File "<frozen importlib._bootstrap_external>", line 995, in exec_module
  File "<frozen importlib._bootstrap>", line 488, in _call_with_frames_removed
  File "/app/.venv/lib/python3.12/site-packages/mcp_server_langgraph/mcp/server_streamable.py", line 187, in <module>
    logger.info(
  File "/app/.venv/lib/python3.12/site-packages/mcp_server_langgraph/observability/telemetry.py", line 633, in info
    get_logger().info(msg, *args, **kwargs)
    ^^^^^^^^^^^^
  File "/app/.venv/lib/python3.12/site-packages/mcp_server_langgraph/observability/telemetry.py", line 420, in get_logger
    raise RuntimeError(
RuntimeError: Observability not initialized. Call init_observability() first."""
PY_IMPORT_TIME_INSTALLED_FIRST, PY_IMPORT_TIME_INSTALLED_LAST = 2, 33

PY_MISSING_ENV = """\
2025-11-06 16:30:00 INFO starting worker
Traceback (most recent call last):
  File "/app/worker/main.py", line 42, in <module>
    main()
  File "/app/worker/main.py", line 31, in main
    settings = load_settings()
  File "/app/worker/settings.py", line 12, in load_settings
    return Settings(database_url=os.environ["DATABASE_URL"])
  File "/usr/local/lib/python3.11/os.py", line 679, in __getitem__
    raise KeyError(key) from None
KeyError: 'DATABASE_URL'"""

PY_ADDRESS_IN_USE = """\
Traceback (most recent call last):
  File "/app/server.py", line 88, in <module>
    httpd = HTTPServer(("0.0.0.0", 8080), Handler)
  File "/usr/local/lib/python3.11/socketserver.py", line 456, in __init__
    self.server_bind()
  File "/usr/local/lib/python3.11/socketserver.py", line 472, in server_bind
    self.socket.bind(self.server_address)
OSError: [Errno 98] Address already in use"""

JAVA_SOCKET_TIMEOUT = """\
2025-11-06 16:25:01,002 INFO  [org.infinispan.CLUSTER] (main) ISPN000094: Received new cluster view
2025-11-06 16:25:31,118 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: Failed to start server in (production) mode
2025-11-06 16:25:31,119 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) Error details:: org.infinispan.commons.CacheConfigurationException: ISPN000541: Error while trying to join the cluster
	at org.infinispan.remoting.transport.jgroups.JGroupsTransport.start(JGroupsTransport.java:716)
	at org.keycloak.quarkus.runtime.storage.legacy.infinispan.CacheManagerFactory.startCacheManager(CacheManagerFactory.java:98)
Caused by: java.net.SocketTimeoutException: connect timed out
	at java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:546)
	at java.base/java.net.Socket.connect(Socket.java:751)
	at org.jgroups.protocols.TCP.connect(TCP.java:120)
	... 12 more"""

GO_CONN_REFUSED = """\
{"level":"info","ts":1730910000.1,"msg":"starting openfga"}
panic: dial tcp 10.12.0.7:5432: connect: connection refused

goroutine 1 [running]:
main.mustConnect({0xc000123456, 0x1f})
	/src/cmd/openfga/main.go:57 +0x1d2
main.main()
	/src/cmd/openfga/main.go:31 +0x65"""

NO_EXCEPTION = """\
starting
listening on :8080
shutting down: received terminated"""


# -- kubelet messages --------------------------------------------------------------------------------

def crashloop_waiting_message(pod_name: str, container_name: str = "app", namespace: str = NS,
                              backoff: str = "5m0s") -> str:
    return (f"back-off {backoff} restarting failed container={container_name} "
            f"pod={pod_name}_{namespace}({uid('pod', namespace, pod_name)})")


def backoff_event_message(pod_name: str, container_name: str = "app", namespace: str = NS) -> str:
    """1.22+ kubelets name container and pod; older ones said only 'Back-off restarting failed container'."""
    return (f"Back-off restarting failed container {container_name} in pod "
            f"{pod_name}_{namespace}({uid('pod', namespace, pod_name)})")


def terminated(exit_code: int, reason: str, finished_minutes_ago: float = 1, ran_minutes: float = 0.2,
               message: str | None = None) -> dict:
    state = {"terminated": {"exitCode": exit_code, "reason": reason,
                            "startedAt": ts(finished_minutes_ago + ran_minutes),
                            "finishedAt": ts(finished_minutes_ago),
                            "containerID": f"containerd://{'cd' * 32}"}}
    if message:
        state["terminated"]["message"] = message
    return state


def workload(name: str = "api", containers=None, replicas: int = 1, template_hash: str = "6b7f9c8d4",
             revision: int = 1) -> tuple[dict, dict]:
    """A Deployment and its current ReplicaSet."""
    deploy = deployment(name, replicas=replicas, containers=containers or [container()], revision=revision)
    rs = replicaset(deploy, template_hash, revision, replicas)
    return deploy, rs


def runtime_incident() -> tuple[list[dict], dict]:
    """Objects and logs of a namespace where each pod-runtime rule has something to say: a crash loop with a
    traceback, an OOM kill with metrics, an image that cannot be pulled and a missing ConfigMap key."""
    from builders import event, pod, pod_metrics, waiting

    objects: list[dict] = []
    crash_deploy, crash_rs = workload("api", containers=[container("app")])
    crash_name = f"{crash_rs['metadata']['name']}-cr4sh"
    crash = pod(crash_name, owner=crash_rs, statuses=[waiting(
        "app", "CrashLoopBackOff", crashloop_waiting_message(crash_name), restarts=5,
        last_state=terminated(1, "Error"))])
    objects += [crash_deploy, crash_rs, crash,
                event(crash, "BackOff", backoff_event_message(crash_name), count=9, container_name="app")]
    logs = {(NS, crash_name, "app", True): PY_IMPORT_TIME}

    oom_deploy, oom_rs = workload("cache", containers=[container("redis", resources={
        "requests": {"memory": "256Mi"}, "limits": {"memory": "256Mi"}})], template_hash="7f8e9d0c1")
    oom_name = f"{oom_rs['metadata']['name']}-00m00"
    oom = pod(oom_name, owner=oom_rs, statuses=[waiting(
        "redis", "CrashLoopBackOff", crashloop_waiting_message(oom_name, "redis"), restarts=4,
        last_state=terminated(137, "OOMKilled"))])
    objects += [oom_deploy, oom_rs, oom, pod_metrics(oom, {"redis": ("20m", "250Mi")})]

    image = "ghcr.io/acme/web:v9"
    pull_deploy, pull_rs = workload("web", containers=[container("web", image=image)], template_hash="1a2b3c4d5")
    pull = pod(f"{pull_rs['metadata']['name']}-pu11x", owner=pull_rs, phase="Pending", statuses=[
        waiting("web", "ImagePullBackOff", f'Back-off pulling image "{image}"', image=image)])
    objects += [pull_deploy, pull_rs, pull, event(
        pull, "Failed", f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack '
        f'image "{image}": failed to resolve reference "{image}": {image}: not found', container_name="web")]

    env = [{"name": "DATABASE_URL", "valueFrom": {"configMapKeyRef": {"name": "worker-config", "key": "DATABASE_URL"}}}]
    config_deploy, config_rs = workload("worker", containers=[container("worker", env=env)], template_hash="9z8y7x6w5")
    message = "couldn't find key DATABASE_URL in ConfigMap shop/worker-config"
    config = pod(f"{config_rs['metadata']['name']}-c0nf9", owner=config_rs, phase="Pending", statuses=[
        waiting("worker", "CreateContainerConfigError", message)])
    objects += [config_deploy, config_rs, config, event(config, "Failed", f"Error: {message}", container_name="worker"),
                {"apiVersion": "v1", "kind": "ConfigMap", "data": {"DATABASE_URI": "x"},
                 "metadata": {"name": "worker-config", "namespace": NS, "uid": uid("cm", NS, "worker-config")}}]
    return objects, logs


def fuzzed_findings(rule: str, choices) -> list | None:
    """Findings of ``rule`` on the runtime incident with fields replaced by odd values (nulls, strings...).

    None when the shared frames themselves cannot be built from the corrupted objects (a core issue, e.g. a
    container name that is a list: frames.containers uses it as a dict key), so the rule is not to blame.
    """
    from builders import state_of
    from builders_workloads import corrupt
    from runbooks_lib.registry import load_detectors

    objects, logs = runtime_incident()
    corrupted = corrupt(objects, choices)
    for obj in corrupted:  # owners.controller_ref (core, not these rules) iterates a non-list ownerReferences
        meta = obj.get("metadata")
        if isinstance(meta, dict) and "ownerReferences" in meta and not isinstance(meta["ownerReferences"], list):
            meta["ownerReferences"] = None
    state = state_of(*corrupted, logs=logs)
    try:
        for frame in ("pods", "containers", "events", "replicasets", "resource_usage"):
            getattr(state.frames, frame)
    except Exception:
        return None
    return list(load_detectors()[rule].detect(state))

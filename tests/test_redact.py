"""Credential masking: each pattern family on realistic text, what must stay as it is, objects, states."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runbooks_lib
from runbooks_lib import redact
from runbooks_lib.redact import (LAST_APPLIED, NO_REDACT_ENV, REDACTED, RedactingLogStore, redact_in_place,
                                 redact_object, redact_state, redact_state_in_place, redact_text, redaction_enabled)
from runbooks_lib.state import ClusterState, LogStore, ResourceError

R = REDACTED
FAKE_PEM_BODY = ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDFAKEFAKEFAKE0\n"
                 "bm90IGEgcmVhbCBrZXkgLSBqdXN0IGZvciB0ZXN0cw==")


# -- each family, on text as it shows up in logs and events ------------------------------------

MASKED = [
    # passwords in URLs: a Go database/sql error with its DSN, a JDBC URL, requests with basic auth
    ('2025/11/06 16:31:58 sql: failed to ping: dial "postgres://openfga:Fg4-s3cret@127.0.0.1:5432/openfga'
     '?sslmode=disable": connection refused',
     f'2025/11/06 16:31:58 sql: failed to ping: dial "postgres://openfga:{R}@127.0.0.1:5432/openfga'
     f'?sslmode=disable": connection refused'),
    ("[mysql] 2025/11/06 connector.go:95: dsn=app:Sup3rS3cret@tcp(10.3.0.7:3306)/orders?parseTime=true",
     f"[mysql] 2025/11/06 connector.go:95: dsn=app:{R}@tcp(10.3.0.7:3306)/orders?parseTime=true"),
    ("Caused by: org.postgresql.util.PSQLException: connection to jdbc:postgresql://db:5432/keycloak"
     "?user=keycloak&password=Kc-P4ss&ssl=true refused",
     f"Caused by: org.postgresql.util.PSQLException: connection to jdbc:postgresql://db:5432/keycloak"
     f"?user=keycloak&password={R}&ssl=true refused"),
    ("KC_DB_URL=jdbc:mysql://kc:Kc-P4ss@db:3306/keycloak", f"KC_DB_URL=jdbc:mysql://kc:{R}@db:3306/keycloak"),
    ("jdbc:oracle:thin:scott/T1ger@db.internal:1521/ORCL", f"jdbc:oracle:thin:scott/{R}@db.internal:1521/ORCL"),
    ("jdbc:sqlserver://db:1433;databaseName=kc;user=sa;password=Sa-P4ss;encrypt=true",
     f"jdbc:sqlserver://db:1433;databaseName=kc;user=sa;password={R};encrypt=true"),
    ('Traceback (most recent call last):\n  File "/app/sync.py", line 42, in <module>\n'
     '    resp = requests.get("https://svc-user:Pa55-w0rd@api.example.com/v1/items", timeout=5)\n'
     "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443)",
     'Traceback (most recent call last):\n  File "/app/sync.py", line 42, in <module>\n'
     f'    resp = requests.get("https://svc-user:{R}@api.example.com/v1/items", timeout=5)\n'
     "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443)"),
    ("redis://:r3dis-pw@staging-redis-session:6379/0", f"redis://:{R}@staging-redis-session:6379/0"),
    # bearer and basic credentials, JWTs
    ("DEBUG:    ('10.8.2.14', 51234) - \"GET /mcp/sse HTTP/1.1\" headers=[(b'host', b'mcp'), "
     "(b'authorization', b'Bearer mcp_tok_9f8e7d6c5b4a'), (b'accept', b'*/*')]",
     "DEBUG:    ('10.8.2.14', 51234) - \"GET /mcp/sse HTTP/1.1\" headers=[(b'host', b'mcp'), "
     f"(b'authorization', b'Bearer {R}'), (b'accept', b'*/*')]"),
    ("Authorization: Basic c3ZjOmh1bnRlcjI=", f"Authorization: Basic {R}"),
    ('{"headers": {"Authorization": "token 0123456789abcdef"}}', f'{{"headers": {{"Authorization": "token {R}"}}}}'),
    ('curl -H "Authorization: Bearer abc.DEF-123_456" https://api', f'curl -H "Authorization: Bearer {R}" https://api'),
    ("INFO: 10.8.0.1:43210 - \"GET /mcp/sse?access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln_bmF0 "
     "HTTP/1.1\" 401 Unauthorized",
     f"INFO: 10.8.0.1:43210 - \"GET /mcp/sse?access_token={R} HTTP/1.1\" 401 Unauthorized"),
    ("jwt=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", f"jwt={R}"),
    # key=value pairs in their many forms
    ("password=hunter2", f"password={R}"),
    ("DB_PASSWORD=abc123", f"DB_PASSWORD={R}"),
    ("X_API_TOKEN: abcdef", f"X_API_TOKEN: {R}"),
    ("password: correcthorsebattery", f"password: {R}"),
    ("  passwd: 'x y z'", f"  passwd: '{R}'"),
    ('{"pwd": "s3cr3t", "user": "app"}', f'{{"pwd": "{R}", "user": "app"}}'),
    ('{"msg": "config loaded {\\"client_secret\\":\\"abc123\\"}"}',
     f'{{"msg": "config loaded {{\\"client_secret\\":\\"{R}\\"}}"}}'),
    ("Settings(api_key='k-123', region='eu')", f"Settings(api_key='{R}', region='eu')"),
    ("--token=ya_not_google_123 --port=8080", f"--token={R} --port=8080"),
    ("exec /app --db-password s3cret --listen :8080", f"exec /app --db-password {R} --listen :8080"),
    ("apikey=AbC123&format=json", f"apikey={R}&format=json"),
    ("X-Api-Key: 0f1e2d3c4b5a", f"X-Api-Key: {R}"),
    ("AZURE_CLIENT_SECRET=Qw8~abc.def_ghi", f"AZURE_CLIENT_SECRET={R}"),
    ("Config{user=bob, password=pa$$}", f"Config{{user=bob, password={R}}}"),
    ("spring.datasource.password = Spr1ng!", f"spring.datasource.password = {R}"),
    ("DB_PASS=pw1 bypass=true", f"DB_PASS={R} bypass=true"),
    # env entries quoted as text (an apply error, a half-written last-applied-configuration)
    ("  env:\n  - name: GITHUB_TOKEN\n    value: plain-tok-1\n  - name: MODE\n    value: fast\n",
     f"  env:\n  - name: GITHUB_TOKEN\n    value: {R}\n  - name: MODE\n    value: fast\n"),
    ('[{"name":"DB_PASSWORD","value":"json-pw-1"},{"name":"MODE","value":"fast"}]',
     f'[{{"name":"DB_PASSWORD","value":"{R}"}},{{"name":"MODE","value":"fast"}}]'),
    # AWS
    ("[default]\naws_access_key_id = AKIAFAKEFAKEFAKE1234\naws_secret_access_key = "
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEFAKEKY\nregion = eu-west-1\n",
     f"[default]\naws_access_key_id = AKIA{R}\naws_secret_access_key = {R}\nregion = eu-west-1\n"),
    ("credentials AKIAFAKEFAKEFAKE1234:wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEFAKEKY loaded",
     f"credentials AKIA{R}:{R} loaded"),
    ("assumed role, session key ASIAFAKEFAKEFAKE5678", f"assumed role, session key ASIA{R}"),
    # Google Cloud
    ("maps: request denied for key AIzaSyFAKE-FAKE_FAKEfakefakefakefake123", f"maps: request denied for key AIza{R}"),
    ("refresh ok: ya29.a0AfH6SMFAKEfake_token-123", f"refresh ok: ya29.{R}"),
    ('{"type": "service_account", "project_id": "acme-staging", "private_key_id": "0123abcdef4567", '
     '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADAN\\n-----END PRIVATE KEY-----\\n", '
     '"client_email": "mcp@acme-staging.iam.gserviceaccount.com"}',
     f'{{"type": "service_account", "project_id": "acme-staging", "private_key_id": "{R}", '
     f'"private_key": "{R}", "client_email": "mcp@acme-staging.iam.gserviceaccount.com"}}'),
    # Azure
    ("DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey=FAKEa1b2c3+d4/e5==;"
     "EndpointSuffix=core.windows.net",
     f"DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey={R};EndpointSuffix=core.windows.net"),
    ("GET https://acmelogs.blob.core.windows.net/c/x?sv=2022-11-02&ss=b&sig=FAKE%2Bsig%3D&se=2025-12-01 403",
     f"GET https://acmelogs.blob.core.windows.net/c/x?sv=2022-11-02&ss=b&sig={R}&se=2025-12-01 403"),
    # private keys: the line count stays (findings cite log line numbers)
    (f"loading key\n-----BEGIN RSA PRIVATE KEY-----\n{FAKE_PEM_BODY}\n-----END RSA PRIVATE KEY-----\ndone",
     f"loading key\n-----BEGIN RSA PRIVATE KEY-----\n{R}\n\n-----END RSA PRIVATE KEY-----\ndone"),
    ("-----BEGIN PRIVATE KEY----- MIIEvQIBADANFAKE -----END PRIVATE KEY-----",
     f"-----BEGIN PRIVATE KEY----- {R} -----END PRIVATE KEY-----"),
    (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{'b3BlbnNzaC1rZXktdjEAAAAA' * 3}\nAAAA\n[log cut] next line",
     f"-----BEGIN OPENSSH PRIVATE KEY----- {R}\n\n\n[log cut] next line"),
    ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIFAKE\n-----END EC PRIVATE KEY-----",
     f"-----BEGIN EC PRIVATE KEY-----\n{R}\n-----END EC PRIVATE KEY-----"),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBFAKE\n-----END PGP PRIVATE KEY BLOCK-----",
     f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n{R}\n\n-----END PGP PRIVATE KEY BLOCK-----"),
    ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqFAKE\n-----END ENCRYPTED PRIVATE KEY-----",
     f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{R}\n-----END ENCRYPTED PRIVATE KEY-----"),
    # vendor tokens: the prefix stays, it says what leaked
    ("git clone https://ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake1234@github.com/acme/x",
     f"git clone https://ghp_{R}@github.com/acme/x"),
    ("GH=gho_FAKEfakeFAKEfakeFAKEfakeFAKEfake1234 and github_pat_11FAKE0fake_FAKEfakeFAKEfake1234",
     f"GH=gho_{R} and github_pat_{R}"),
    ("slack post failed (xoxb-1111111111-2222222222-FAKEfakeFAKE)", f"slack post failed (xoxb-{R})"),
    ("stripe: using sk_live_FAKEfakeFAKEfake1234", f"stripe: using sk_live_{R}"),
]


@pytest.mark.parametrize("text,expected", MASKED, ids=[text[:40] for text, _ in MASKED])
def test_masks_the_credential_and_keeps_its_context(text, expected):
    assert redact_text(text) == expected


UNCHANGED = [
    "token expired",
    "invalid token: Token is expired",
    "error validating token: signature is invalid.",
    "Bearer token expired; Basic authentication failed",
    'FATAL: password authentication failed for user "keycloak"',
    "[mysql] could not use requested auth plugin 'mysql_native_password': this user requires native password",
    'Error: secret "db-creds" not found',
    "couldn't find key password in Secret staging/db",
    "MountVolume.SetUp failed for volume \"tls\" : secret \"gateway-tls\" not found",
    "docker-pullable://gcr.io/cloud-sql-connectors/cloud-sql-proxy@sha256:" + "3f" * 32,
    "containerd://" + "0a9b" * 16,
    "uid: 526c7341-4218-4733-88d3-86d44c0493da",
    "pod-template-hash=5847455794 resourceVersion=46369734",
    "10.8.2.14:51234 -> 10.8.3.7:7800",
    "--health-check --http-port=9801 --http-address=0.0.0.0 --port=5432 --structured-logs",
    "--token-file=/var/run/secrets/token --password-file /run/pw",
    "serviceAccountToken: {path: token, expirationSeconds: 3607}",
    "secretKeyRef: {name: keycloak-db, key: password}",
    "git commit 9c0c605d3e1b2a4f5e6d7c8b9a0f1e2d3c4b5a69",
    "received SIGTERM, shutting down; signal=15",
    "bypass=true compass=north",
    '{"token": null, "password": "", "secret": true}',
    "password=${DB_PASSWORD} token=$(API_TOKEN) secret=****",
    "POST /oauth/token HTTP/1.1 200",
    "GET http://staging-keycloak:8080/realms/mcp/.well-known/openid-configuration",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
    "tokenizer=bert-base token_count=512 tokens: 12",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_leaves_evidence_that_only_looks_like_a_credential(text):
    assert redact_text(text) == text


@pytest.mark.parametrize("example", ["staging-incident", "healthy"])
def test_the_bundled_examples_hold_no_credential_so_nothing_changes(example, monkeypatch):
    """False positives on real-looking data: every object and every log of the examples stays as it is."""
    monkeypatch.setenv(NO_REDACT_ENV, "1")
    state = runbooks_lib.load(example)
    redacted = redact_state(state)
    assert redacted.objects == state.objects
    checked = 0
    for namespace, pod, previous in state.logs.pods():
        for container, log in state.logs._pod_logs(namespace, pod, previous).items():
            assert redacted.logs.get(namespace, pod, container, previous).text == log.text
            checked += 1
    assert checked > 10


# -- properties ------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "password", "PASSWORD", "DB_PASSWORD", "passwd", "pwd", "pass", "secret", "token", "api_key", "apikey",
    "access_key", "AccountKey", "sig", "private_key", "private_key_id", "authorization", "Authorization",
    "Bearer ", "Basic ", "bearer", "=", ":", ": ", " ", "\n", "\t", '"', "'", '\\"', "\\", ",", ";", "&", "@", "/",
    "://", "postgres://", "user:pw@", "@tcp(", "jdbc:oracle:thin:", "AKIA", "ASIA", "AKIAFAKEFAKEFAKE1234",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEFAKEKY", "AIza", "ya29.", "eyJ", "eyJhbGciOi.eyJzdWIi.", "ghp_",
    "github_pat_", "xoxb-", "sk_live_", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----", "MIIEvQIBADAN", "<redacted>", "{", "}", "(", ")", "[", "]", "--", "-",
    "hunter2", "abc", "0123456789", "x" * 40, "A" * 64, "c3ZjOmh1bnRlcjI=", "null", "${X}", "İ", "é",
])
TEXTS = st.one_of(st.text(max_size=200), st.lists(st.one_of(FRAGMENTS, st.text(max_size=6)), max_size=40).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_redaction_never_raises_is_idempotent_and_bounded(text):
    once = redact_text(text)
    assert redact_text(once) == once
    # A mask is 10 characters and every masked value needs at least 5 of context ("sig=x").
    assert len(once) <= 3 * len(text)
    assert once.count("\n") == text.count("\n"), "line numbers in logs must stay valid"


@pytest.mark.parametrize("adversarial", [
    "password=" * 40_000,
    '"token": "' * 30_000,
    "-----BEGIN PRIVATE KEY-----\n" * 10_000,
    "eyJ" + "A" * 300_000,
    "a:" * 150_000 + "@tcp(",
    "://" + ":" * 300_000,
    "x" * 300_000,
])
def test_linear_on_adversarial_input(adversarial):
    started = time.perf_counter()
    redact_text(adversarial)
    # ~300 kB: linear scans take milliseconds; a quadratic one would take minutes.
    assert time.perf_counter() - started < 10


def test_every_trigger_word_is_found_wherever_it_stands():
    for word in redact._TRIGGER_WORDS:
        for text in (word, f"x{word}", f"{word}x", f"a b {word}{word} c"):
            assert redact._TRIGGER.search(text), (word, text)


# Texts built from trigger words, their prefixes and near misses: where the trie's branches part.
NEAR_TRIGGERS = st.lists(st.one_of(st.sampled_from(redact._TRIGGER_WORDS), st.sampled_from(
    ["pas", "pw", "secre", "toke", "si", "ke", "dat", "acces", "api-", "api_", "gh", "ghx_", "xo", "xoxz-",
     "k_liv", "@tc", ":/", "----begin", "ey", "ya29", "oracle:", "basi", "beare", "s", "k", "_", "-", " ", "."]),
    st.text(alphabet="abcdeghikmnoprstuwxyz_-:/@.29", max_size=4)), max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(NEAR_TRIGGERS)
def test_the_trigger_regex_finds_a_trigger_word_exactly_when_one_is_there(text):
    assert bool(redact._TRIGGER.search(text)) == any(word in text for word in redact._TRIGGER_WORDS)


# -- objects -----------------------------------------------------------------------------------

def deployment(env: list[dict], args: list[str] | None = None, annotations: dict | None = None) -> dict:
    container = {"name": "app", "image": "ghcr.io/acme/app:1.2.3", "env": env}
    if args is not None:
        container["args"] = args
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "shop", "uid": "0b7c2a8e-3f39-4f0c-9d52-4c1b0e7f3a11",
                         "annotations": annotations or {}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [container]}}}}


def container_of(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][0]


def test_env_values_named_like_credentials_are_masked_whole():
    env = [
        {"name": "DB_PASSWORD", "value": "correct horse battery staple"},
        {"name": "GITHUB_TOKEN", "value": "not-prefixed-but-secret"},
        {"name": "stripe_api_key", "value": "k"},
        {"name": "JWT_PRIVATE_KEY", "value": "MIIEvQ"},
        {"name": "GOOGLE_CREDENTIALS", "value": '{"type": "service_account"}'},
        {"name": "OIDC_CLIENT_SECRET", "value": "abc"},
        {"name": "KC_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "keycloak-db", "key": "password"}}},
        {"name": "LOG_LEVEL", "value": "INFO"},
        {"name": "TOKEN_CACHE_ENABLED", "value": "true"},
        {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"},
        {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db-password"},
        {"name": "ADMIN_PASSWORD", "value": "$(RAW_ADMIN_PASSWORD)"},
        {"name": "DATABASE_URL", "value": "postgres://app:pw-in-url@db:5432/app"},
    ]
    redacted = container_of(redact_object(deployment(env)))["env"]
    values = {var["name"]: var.get("value", var.get("valueFrom")) for var in redacted}
    assert [values[n] for n in ("DB_PASSWORD", "GITHUB_TOKEN", "stripe_api_key", "JWT_PRIVATE_KEY",
                                "GOOGLE_CREDENTIALS", "OIDC_CLIENT_SECRET")] == [R] * 6
    assert values["KC_DB_PASSWORD"] == {"secretKeyRef": {"name": "keycloak-db", "key": "password"}}
    assert values["LOG_LEVEL"] == "INFO" and values["TOKEN_CACHE_ENABLED"] == "true"
    assert values["GOOGLE_APPLICATION_CREDENTIALS"] == "/var/secrets/google/key.json"
    assert values["DB_PASSWORD_FILE"] == "/run/secrets/db-password"
    assert values["ADMIN_PASSWORD"] == "$(RAW_ADMIN_PASSWORD)"
    assert values["DATABASE_URL"] == f"postgres://app:{R}@db:5432/app"


def test_a_gcp_service_account_json_in_an_env_value_loses_its_key_not_its_identity():
    blob = json.dumps({"type": "service_account", "project_id": "acme-staging", "private_key_id": "a1b2c3d4e5f6",
                       "private_key": f"-----BEGIN PRIVATE KEY-----\n{FAKE_PEM_BODY}\n-----END PRIVATE KEY-----\n",
                       "client_email": "mcp@acme-staging.iam.gserviceaccount.com"})
    redacted = container_of(redact_object(deployment([{"name": "SA_JSON", "value": blob}])))["env"][0]["value"]
    parsed = json.loads(redacted)
    assert parsed["private_key_id"] == R and parsed["private_key"] == R
    assert parsed["client_email"] == "mcp@acme-staging.iam.gserviceaccount.com"


def test_args_mask_the_word_after_a_credential_flag():
    args = ["--structured-logs", "--token", "ya_opaque_123", "--port=5432", "--password", "hunter2",
            "--client-secret=abc", "--http-port", "9801", "--bypass", "yes", "acme:us-central1:db"]
    redacted = container_of(redact_object(deployment([], args=args)))["args"]
    assert redacted == ["--structured-logs", "--token", R, "--port=5432", "--password", R,
                        f"--client-secret={R}", "--http-port", "9801", "--bypass", "yes", "acme:us-central1:db"]


def test_last_applied_configuration_is_redacted_as_json_with_the_env_rule():
    applied = deployment([{"name": "API_TOKEN", "value": "tok-plain-text"},
                          {"name": "DSN", "value": "mysql://u:dsn-pw@db/x"},
                          {"name": "MODE", "value": "fast"}])
    applied["metadata"].pop("uid")
    original = json.dumps(applied, separators=(",", ":")) + "\n"
    obj = deployment([], annotations={LAST_APPLIED: original, "team": "payments"})
    redacted = redact_object(obj)["metadata"]["annotations"]
    assert redacted["team"] == "payments"
    text = redacted[LAST_APPLIED]
    assert "tok-plain-text" not in text and "dsn-pw" not in text and text.endswith("\n")
    env = container_of(json.loads(text))["env"]
    assert env == [{"name": "API_TOKEN", "value": R}, {"name": "DSN", "value": f"mysql://u:{R}@db/x"},
                   {"name": "MODE", "value": "fast"}]
    clean = json.dumps(deployment([{"name": "MODE", "value": "fast"}])) + "\n"
    assert redact_object(deployment([], annotations={LAST_APPLIED: clean}))["metadata"]["annotations"][LAST_APPLIED] \
        == clean, "byte for byte when nothing is masked"


def test_a_last_applied_configuration_that_is_not_json_is_redacted_as_text():
    broken = '{"kind":"Deployment","spec":{"env":[{"name":"DB_PASSWORD","value":"half-written'
    text = redact_object(deployment([], annotations={LAST_APPLIED: broken}))["metadata"]["annotations"][LAST_APPLIED]
    assert "half-written" not in text


def test_configmap_keys_named_like_credentials():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "shop"},
          "data": {"DB_PASSWORD": "cm-pw-1", "app.properties": "db.user=app\ndb.password=cm-pw-2\n", "MODE": "x"}}
    data = redact_object(cm)["data"]
    assert data == {"DB_PASSWORD": R, "app.properties": f"db.user=app\ndb.password={R}\n", "MODE": "x"}


def test_redact_object_is_a_deep_copy_and_leaves_its_input_alone():
    obj = deployment([{"name": "DB_PASSWORD", "value": "pw-123"}], args=["--x"])
    before = json.dumps(obj)
    copy = redact_object(obj)
    assert redact_object(clean := deployment([])) == clean and redact_object(clean)["spec"] is not clean["spec"]
    copy["spec"]["template"]["spec"]["containers"][0]["args"].append("--y")
    copy["metadata"]["annotations"]["new"] = "1"
    assert json.dumps(obj) == before


def planted_objects() -> list[dict]:
    """One object per structural rule, each with a credential, and one without any."""
    applied = json.dumps(deployment([{"name": "API_TOKEN", "value": "tok-plain-text"}])) + "\n"
    return [
        deployment([{"name": "DB_PASSWORD", "value": "pw-123"}, {"name": "MODE", "value": "fast"}],
                   args=["--token", "ya_opaque_123", "--port=5432"],
                   annotations={LAST_APPLIED: applied, "notes": "dsn=app:Sup3r@tcp(db:3306)/x"}),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "shop"},
         "data": {"DB_PASSWORD": "cm-pw-1", "app.properties": "db.password=cm-pw-2\n", "MODE": "x"}},
        {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "shop"},
         "message": "Readiness probe failed: Get http://u:probe-pw@10.0.0.1:80/: EOF", "count": 3},
        deployment([{"name": "MODE", "value": "fast"}], args=["--port", "8080"]),
    ]


def test_masking_in_place_masks_the_objects_themselves_as_a_copy_would_be():
    objects = planted_objects()
    copies = [redact_object(obj) for obj in objects]
    originals = list(objects)
    redact_in_place(objects)
    assert objects == copies
    assert all(obj is original for obj, original in zip(objects, originals)), "the same objects, masked"
    text = json.dumps(objects)
    for planted in ("pw-123", "ya_opaque_123", "tok-plain-text", "Sup3r", "cm-pw-1", "cm-pw-2", "probe-pw"):
        assert planted not in text
    assert container_of(objects[0])["args"] == ["--token", R, "--port=5432"]
    assert objects[3] == deployment([{"name": "MODE", "value": "fast"}], args=["--port", "8080"])


def test_masking_in_place_twice_changes_nothing_more():
    objects = planted_objects()
    redact_in_place(objects)
    once = json.dumps(objects)
    redact_in_place(objects)
    assert json.dumps(objects) == once


def test_masking_in_place_makes_equal_strings_one_object(monkeypatch):
    """What keeps a big snapshot small: its millions of repeated names, images and timestamps."""
    monkeypatch.setattr(redact, "_CLEAN", {})  # a full memo could be cleared in between
    first, second = deployment([]), deployment([])
    image = "".join(["ghcr.io/acme/", "app:1.2.3"])  # equal to the other image, not the same object
    container_of(second)["image"] = image
    assert container_of(first)["image"] is not container_of(second)["image"]
    redact_in_place([first, second])
    assert container_of(first)["image"] is container_of(second)["image"]
    assert first == second


def test_a_last_applied_configuration_deeper_than_the_stack_is_masked_as_text():
    deep = "[" * 100_000 + '"password=deep-pw-1"' + "]" * 100_000
    obj = deployment([], annotations={LAST_APPLIED: deep})
    redact_in_place([obj])
    text = obj["metadata"]["annotations"][LAST_APPLIED]
    assert "deep-pw-1" not in text and f"password={R}" in text


# -- states ------------------------------------------------------------------------------------

class CountingLogStore(LogStore):
    def __init__(self):
        super().__init__()
        self.reads = 0

    def _pod_logs(self, namespace, pod, previous):
        self.reads += 1
        return super()._pod_logs(namespace, pod, previous)


def test_redact_state_masks_objects_logs_warnings_and_errors_lazily(tmp_path: Path):
    logs = CountingLogStore()
    log_file = tmp_path / "logs.txt"
    log_file.write_text("==== START logs for container app of pod shop/app-1 ====\n"
                        + "".join(f"line {n}\n" for n in range(50))
                        + "panic: dial postgres://app:log-pw-1@db:5432/app\n"
                        + "==== END logs for container app of pod shop/app-1 ====\n")
    logs.add_file("shop", "app-1", True, log_file)
    clean = deployment([{"name": "MODE", "value": "fast"}])
    state = ClusterState(objects={"Deployment": [deployment([{"name": "DB_PASSWORD", "value": "obj-pw"}]), clean]},
                         logs=logs, warnings=["shop/app: skipped, token=warn-tok-1"],
                         errors=[ResourceError("pods/log", "shop", 500, "InternalError",
                                               "proxy error: Authorization: Bearer err-tok-123456")])
    redacted = redact_state(state)
    assert logs.reads == 0, "logs are read when asked for, not by redact_state"
    assert container_of(redacted.of_kind("Deployment")[0])["env"][0]["value"] == R
    assert redacted.of_kind("Deployment")[1] is clean, "objects without credentials are shared, not copied"
    assert redacted.warnings == [f"shop/app: skipped, token={R}"]
    assert redacted.errors[0].message == f"proxy error: Authorization: Bearer {R}"
    assert redacted.errors[0].code == 500 and redacted.partial
    assert isinstance(redacted.logs, RedactingLogStore) and redacted.logs.pods() == {("shop", "app-1", True)}
    log = redacted.logs.get("shop", "app-1", "app", previous=True)
    assert log.text.endswith(f"panic: dial postgres://app:{R}@db:5432/app")
    assert (log.first_line_number, log.truncated) == (1, False)
    assert redacted.logs.get("shop", "app-1", "app") is None
    assert "log-pw-1" in state.logs.get("shop", "app-1", "app", previous=True).text, "the input state is untouched"
    assert container_of(state.of_kind("Deployment")[0])["env"][0]["value"] == "obj-pw"


def test_a_cut_log_keeps_its_line_numbers(tmp_path: Path):
    log_file = tmp_path / "logs.txt"
    body = "".join(f"filler line {n:06d} " + "x" * 80 + "\n" for n in range(200))
    log_file.write_text("==== START logs for container app of pod shop/app-1 ====\n" + body
                        + "secret=cut-pw-9\n==== END logs for container app of pod shop/app-1 ====\n")
    from runbooks_lib.podlogs import read_log_file

    original = read_log_file(log_file, tail_bytes=2000)["app"]
    store = LogStore()
    store.add_file("shop", "app-1", False, log_file)
    store._parsed[("shop", "app-1", False)] = {"app": original}
    redacted = RedactingLogStore(store).get("shop", "app-1", "app")
    assert original.truncated and (redacted.first_line_number, redacted.truncated) == (original.first_line_number, True)
    assert redacted.text.splitlines()[-1] == f"secret={R}"
    assert len(redacted.text.splitlines()) == len(original.text.splitlines())


def test_load_redacts_unless_told_not_to(tmp_path: Path, monkeypatch):
    pods = {"apiVersion": "v1", "kind": "PodList", "items": [{
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": "x", "env": [{"name": "API_TOKEN", "value": "pod-tok-7"}]}]},
        "status": {"phase": "Running"}}]}
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(pods))
    monkeypatch.delenv(NO_REDACT_ENV, raising=False)
    assert redaction_enabled()
    assert "pod-tok-7" not in json.dumps(runbooks_lib.load(str(path)).objects)
    for off in ("1", "true", "TRUE"):
        monkeypatch.setenv(NO_REDACT_ENV, off)
        assert not redaction_enabled()
        assert "pod-tok-7" in json.dumps(runbooks_lib.load(str(path)).objects)
    monkeypatch.setenv(NO_REDACT_ENV, "0")
    assert redaction_enabled()


def test_redact_state_in_place_masks_the_state_itself(tmp_path: Path):
    log_file = tmp_path / "logs.txt"
    log_file.write_text("==== START logs for container app of pod shop/app-1 ====\n"
                        "panic: dial postgres://app:log-pw-2@db:5432/app\n"
                        "==== END logs for container app of pod shop/app-1 ====\n")
    logs = LogStore()
    logs.add_file("shop", "app-1", False, log_file)
    secret = deployment([{"name": "DB_PASSWORD", "value": "obj-pw-2"}])
    state = ClusterState(objects={"Deployment": [secret]}, logs=logs, warnings=["token=warn-tok-2"],
                         errors=[ResourceError("pods", "shop", 403, "Forbidden", "Authorization: Bearer err-tok-2345678")])
    redact_state_in_place(state)
    assert state.of_kind("Deployment")[0] is secret and container_of(secret)["env"][0]["value"] == R
    assert state.warnings == [f"token={R}"] and state.errors[0].message == f"Authorization: Bearer {R}"
    assert state.logs.get("shop", "app-1", "app").text == f"panic: dial postgres://app:{R}@db:5432/app"
    again = ClusterState(objects={"Deployment": [deployment([{"name": "DB_PASSWORD", "value": "obj-pw-3"}])]},
                         warnings=["token=warn-tok-3"])
    redact_state_in_place(again, objects=False)  # the snapshot loader masked them already
    assert container_of(again.of_kind("Deployment")[0])["env"][0]["value"] == "obj-pw-3"
    assert again.warnings == [f"token={R}"] and isinstance(again.logs, RedactingLogStore)


def test_an_annotation_named_for_a_credential_is_masked_whole_and_labels_are_left_for_selectors():
    obj = deployment([], annotations={"acme.io/db-password": "hunter2", "acme.io/api-key": "k3y-2ab9f0",
                                      "vault.hashicorp.com/agent-inject-token": "true", "team": "payments"})
    obj["metadata"]["labels"] = {"token-rotation": "weekly"}
    annotations = redact_object(obj)["metadata"]["annotations"]
    assert annotations["acme.io/db-password"] == REDACTED and annotations["acme.io/api-key"] == REDACTED
    assert annotations["vault.hashicorp.com/agent-inject-token"] == "true", "a switch is not a credential"
    assert annotations["team"] == "payments"
    assert redact_object(obj)["metadata"]["labels"] == {"token-rotation": "weekly"}

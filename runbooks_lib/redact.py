"""Masking credentials before any cluster data reaches an output.

Runbook outputs (executed notebooks, HTML, findings JSON, SARIF, snapshots) end up in
tickets and CI artifacts, so ``sources.load`` hands every consumer a redacted state:
objects, logs (lazily, when read), warnings and read errors. docs/security.md lists
what is masked.

Masking keeps the context that makes evidence useful (``password=<redacted>``,
``postgres://app:<redacted>@db``, ``AKIA<redacted>``) and leaves alone what only looks
random: uids, digests, container ids, hashes, ports. Every pattern is linear in its
input (bounded repetitions, no nested quantifiers), and a string holding none of the
trigger words returns after one scan.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import replace
from typing import Any, Callable

from .podlogs import ContainerLog
from .state import ClusterState, LogStore

REDACTED = "<redacted>"
NO_REDACT_ENV = "RUNBOOKS_NO_REDACT"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def redaction_enabled() -> bool:
    """False only when RUNBOOKS_NO_REDACT is 1/true (``--no-redact``; notebook kernels inherit it)."""
    return os.environ.get(NO_REDACT_ENV, "").strip().lower() not in ("1", "true")


# -- text ----------------------------------------------------------------------------------
#
# Case-insensitive patterns run without re.IGNORECASE on an ASCII-lowered copy of the text
# (ten times faster in CPython's re); lowering ASCII keeps every offset, so a match's spans
# index the original text, and replacements copy its original case.

_MAX_VALUE = 8192  # the longest quoted value we look for a closing quote for

# A key ending in one of these words names a credential: db_password, x-api-key, clientsecret.
_KEYWORD = (r"(?:passw(?:or)?d|passphrase|pass|pwd|secret|token|signature|sig|api[_-]?key"
            r"|(?:access|account|private|signing|encryption|master|subscription|secret)[_-]?key"
            r"|private[_-]?key[_-]?id|client[_-]?key[_-]?data)")
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_END_OF_IDENT = r"(?![a-z0-9_.-])"

# key (its closing quote, maybe JSON-escaped), = or :, then a quoted or a bare value.
_KEY_VALUE = re.compile(
    _KEYWORD + _END_OF_IDENT
    + r"(?P<kq>\\?[\"']?)(?P<sep>[ \t]{0,3}[:=][ \t]{0,3})"
    + r"(?:\\\"(?P<v1>(?:[^\\\n]|\\(?!\")){0,%d})\\\"" % _MAX_VALUE
    + r"|\"(?P<v2>[^\"\\\n]{0,%d}(?:\\.[^\"\\\n]{0,%d}){0,%d})\"" % (_MAX_VALUE, _MAX_VALUE, _MAX_VALUE)
    + r"|'(?P<v3>[^'\n]{0,%d})'" % _MAX_VALUE
    + r"|(?P<open>\\?[\"']?)(?P<v4>[^\s\"'`&;,\\]+))")
_VALUE_GROUPS = ("v1", "v2", "v3", "v4")

# An env entry written out as text (a broken last-applied-configuration, an error message
# quoting the manifest): {"name": "DB_PASSWORD", "value": "..."} or "name: X\n  value: ...".
_ENV_ENTRY = re.compile(
    r"\"name\"[ \t]{0,3}:[ \t]{0,3}\"(?P<name>[A-Za-z0-9_.-]{1,128})\"[ \t]{0,3},[ \t]{0,3}"
    r"\"value\"[ \t]{0,3}:[ \t]{0,3}\"(?P<value>[^\"\\\n]{1,%d})"
    r"|(?<![\w-])name:[ \t]{1,3}[\"']?(?P<yname>[A-Za-z0-9_.-]{1,128})[\"']?[ \t]{0,3}\r?\n[ \t]{0,64}"
    r"value:[ \t]{1,3}[\"']?(?P<yvalue>[^\"'\n]{1,%d})" % (_MAX_VALUE, _MAX_VALUE))

# --password hunter2: a flag and its value as separate words.
_FLAG_SPACE_VALUE = re.compile(
    r"(?<![\w-])(?P<flag>--?[a-z0-9_.-]{0,64}?" + _KEYWORD + _END_OF_IDENT + r")"
    r"[ \t]+(?!-)(?:\"(?P<v2>[^\"\n]{0,%d})\"|'(?P<v3>[^'\n]{0,%d})'|(?P<v4>[^\s\"'`]+))"
    % (_MAX_VALUE, _MAX_VALUE))
_SECRET_FLAG = re.compile(r"--?[a-z0-9_.-]{0,64}?" + _KEYWORD)
_KEYWORD_AT_END = re.compile(_KEYWORD + r"$")

_AUTHORIZATION = re.compile(  # also header pairs: ('authorization', 'Bearer x'), [b"authorization", b"..."]
    r"authorization(?![\w-])\\?[\"']?[ \t]{0,3}(?:[:=]|(?<=[\"'])[ \t]{0,3},[ \t]{0,3}b?(?=[\"']))[ \t]{0,3}"
    r"(?P<open>\\?[\"']?)"
    r"(?:(?P<scheme>bearer|basic|token|digest|negotiate|ntlm|bot|oauth|jwt|apikey|ssws|aws4-hmac-sha256)[ \t]+)?"
    r"(?P<cred>[^\s\"'\\,;]{1,4096})")
_BEARER = re.compile(r"(?<![\w-])bearer[ \t]+(?P<cred>[a-z0-9._~+/=-]{8,4096})")
_BASIC = re.compile(r"(?<![\w-])basic[ \t]+(?P<cred>[a-z0-9+/]{4,4096}={0,2})(?![\w+/=-])")
_ORACLE_THIN = re.compile(r"jdbc:oracle:thin:[^\s/@:\"']{1,128}/(?P<pw>[^\s@\"']{1,256})@")
_URL_PASSWORD = re.compile(r"://[^\s:/?#@\"'<>]{0,256}:(?P<pw>[^\s/?#@\"'<>]{1,512})@")
_GO_MYSQL_DSN = re.compile(r"(?<![\w.-])[\w.-]{1,64}:(?P<pw>[^\s@:/\"']{1,256})@(?:tcp6?|udp|unix)\(")
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{0,8192}")
_AWS_KEY_PAIR = re.compile(
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA)(?P<id>[A-Z0-9]{16})[\s\"',:;=|]{1,20}(?P<secret>[A-Za-z0-9/+]{40})"
    r"(?![A-Za-z0-9/+=])")
_AWS_KEY_ID = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)(?P<id>[A-Z0-9]{16})(?![A-Za-z0-9])")
_GCP_API_KEY = re.compile(r"(?<![A-Za-z0-9_-])AIza(?P<key>[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])")
_GOOGLE_OAUTH = re.compile(r"(?<![A-Za-z0-9_-])ya29\.(?P<token>[0-9A-Za-z_-]{10,4096})")
_GITHUB = re.compile(r"(?<![A-Za-z0-9_])(?:gh[opusr]_(?P<token>[A-Za-z0-9]{36,255})(?![A-Za-z0-9_])"
                     r"|github_pat_(?P<pat>[A-Za-z0-9_]{22,255}))")
_SLACK = re.compile(r"(?<![A-Za-z0-9])xox[baprs]-(?P<token>[A-Za-z0-9-]{10,255})")
_STRIPE = re.compile(r"(?<![A-Za-z0-9])[sr]k_(?:live|test)_(?P<key>[A-Za-z0-9]{10,255})")

_PEM_BEGIN = re.compile(r"-----BEGIN (?P<label>(?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?)-----")
_PEM_HEADER_REST = re.compile(r"[ \t]*(?:<redacted>)?[A-Za-z0-9+/=\\ \t]*")  # the BEGIN line's remainder
_PEM_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]*")
_PEM_FIELD = re.compile(r"[A-Za-z-]{1,40}: ")  # Proc-Type:, DEK-Info:, Version:

# Values that are no secret, kept as evidence: literals, references to other variables, masks.
_NOT_A_SECRET = re.compile(
    r"(?:null|none|nil|true|false|undefined|\[\]|\{\}|\*+|<redacted>"
    r"|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\$\([A-Za-z_][A-Za-z0-9_]*\))", re.IGNORECASE)
_LOOKS_LIKE_CREDENTIAL = re.compile(r"[0-9!@#$%^&*+=/\\~|<>_]")

# One scan of the lowered text decides whether any pattern can match at all.
_TRIGGER = re.compile(
    r"pass|pwd|secret|token|sig|(?:api|access|account|private|signing|encryption|master|subscription|key)[_-]?"
    r"(?:key|data)|authorization|bearer|://|akia|asia|aiza|ya29\.|-----begin|eyj|gh[opusr]_|github_pat_"
    r"|xox[baprs]-|[sr]k_(?:live|test)_|@(?:tcp|udp|unix)|oracle:thin|basic")
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def redact_text(text: str) -> str:
    """``text`` with every credential it holds masked; the text itself when it holds none."""
    known = _MEMO.get(text)
    if known is not None:
        return known
    redacted = _redact_uncached(text)
    if len(text) <= _MEMO_TEXT_LIMIT:
        if len(_MEMO) >= _MEMO_ENTRIES:
            _MEMO.clear()
        _MEMO[text] = redacted
    return redacted


# Names, labels, images and flags repeat across thousands of objects: remember short ones.
_MEMO: dict[str, str] = {}
_MEMO_TEXT_LIMIT = 256
_MEMO_ENTRIES = 1 << 17


def _redact_uncached(text: str) -> str:
    low = _lower(text)
    if not _TRIGGER.search(low):
        return text
    for _ in range(_MAX_ROUNDS):
        # Again until nothing changes: a mask can complete a match for an earlier rule
        # (a masked value followed by "@tcp("), and redacting twice must change nothing.
        before = text
        for triggers, rule in _RULES:
            if any(trigger in low for trigger in triggers):
                redacted = rule(text, low)
                if redacted != text:
                    text, low = redacted, _lower(redacted)
        if text == before:
            break
    return text


_MAX_ROUNDS = 4


def _lower(text: str) -> str:
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


Replacer = Callable[[str, re.Match], str]


def _on_lowered(pattern: re.Pattern, replacer: Replacer) -> Callable[[str, str], str]:
    return lambda text, low: _substitute(pattern.finditer(low), text, replacer)


def _on_text(pattern: re.Pattern, replacer: Replacer) -> Callable[[str, str], str]:
    return lambda text, low: _substitute(pattern.finditer(text), text, replacer)


def _substitute(matches, text: str, replacer: Replacer) -> str:
    out, position = [], 0
    for match in matches:
        out.append(text[position:match.start()])
        out.append(replacer(text, match))
        position = match.end()
    if not out:
        return text
    out.append(text[position:])
    return "".join(out)


def _mask(*groups: str) -> Replacer:
    """Replace the named groups (those that matched) with the mask; keep the rest of the match."""
    def replacer(text: str, match: re.Match) -> str:
        return _mask_spans(text, match, [match.span(g) for g in groups if match.start(g) >= 0])
    return replacer


def _mask_spans(text: str, match: re.Match, spans: list[tuple[int, int]]) -> str:
    out, position = [], match.start()
    for start, end in spans:
        out.append(text[position:start] + REDACTED)
        position = end
    return "".join(out) + text[position:match.end()]


def _authorization(text: str, match: re.Match) -> str:
    cred = text[match.start("cred"):match.end("cred")]
    if match.start("scheme") < 0 and not match["open"] and not _credential_like(cred) and len(cred) < 16:
        return text[match.start():match.end()]  # prose: "authorization: denied"
    return _mask_spans(text, match, [match.span("cred")])


def _bearer(text: str, match: re.Match) -> str:
    if not _credential_like(match["cred"]):
        return text[match.start():match.end()]  # "Bearer authentication"
    return _mask_spans(text, match, [match.span("cred")])


def _basic(text: str, match: re.Match) -> str:
    """Basic credentials are base64 of user:password; "Basic authentication" decodes to no colon."""
    try:
        decoded = base64.b64decode(text[match.start("cred"):match.end("cred")], validate=True)
    except ValueError:
        return text[match.start():match.end()]
    if b":" not in decoded:
        return text[match.start():match.end()]
    return _mask_spans(text, match, [match.span("cred")])


def _key_value(text: str, match: re.Match) -> str:
    original = text[match.start():match.end()]
    key_start = _identifier_start(text, match.start())
    prefix, keyword = text[key_start:match.start()], text[match.start():match.start("kq")]
    if not _is_credential_key(prefix, keyword):
        return original
    group = next(g for g in _VALUE_GROUPS if match.start(g) >= 0)
    start, end = match.span(group)
    value = text[start:end]
    if group == "v4":
        value = _without_closing_brackets(value)  # Config{password=x}: the } is not the password's
        end = start + len(value)
    if not value or _NOT_A_SECRET.fullmatch(value) or _opens_a_structure(value):
        return original
    if group == "v4" and not match["open"] and ":" in match["sep"] \
            and _reads_like_prose(text, key_start, prefix + keyword, bool(match["kq"]), value):
        return original
    return _mask_spans(text, match, [(start, end)])


def _env_entry(text: str, match: re.Match) -> str:
    name, value = ("name", "value") if match.start("name") >= 0 else ("yname", "yvalue")
    if not _names_a_secret_value(match[name], match[value].rstrip()):
        return match[0]
    return _mask_spans(text, match, [match.span(value)])


def _flag_space_value(text: str, match: re.Match) -> str:
    group = next(g for g in ("v2", "v3", "v4") if match.start(g) >= 0)
    value = text[match.start(group):match.end(group)]
    if not value or _NOT_A_SECRET.fullmatch(value) or not _flag_takes_secret(match["flag"]):
        return text[match.start():match.end()]
    return _mask_spans(text, match, [match.span(group)])


def _flag_takes_secret(flag: str) -> bool:
    """--password, --db-pass, --client-secret; not --bypass or --token-file."""
    name = _lower(flag).lstrip("-")
    for start in range(len(name) - 1, -1, -1):  # the shortest credential word the name ends with
        if _KEYWORD_AT_END.fullmatch(name, start):
            return _is_credential_key(name[:start], name[start:])
    return False


def _identifier_start(text: str, keyword_start: int) -> int:
    start = keyword_start
    while start > 0 and keyword_start - start < 64 and text[start - 1] in _IDENT_CHARS:
        start -= 1
    return start


def _is_credential_key(prefix: str, keyword: str) -> bool:
    word = keyword.lower()
    if word == "sig":
        return prefix in ("", "-", "--")  # only the bare sig= of SAS tokens; not config_sig
    if word == "pass":
        return prefix == "" or prefix[-1] in "_.-"  # DB_PASS, --pass; not bypass=, compass=
    return True


def _reads_like_prose(text: str, key_start: int, key: str, key_quoted: bool, value: str) -> bool:
    """``invalid token: Token is expired`` is prose; ``password: hunter2`` and YAML are not."""
    if _credential_like(value.rstrip(".,:;!?)")):
        return False
    if key_quoted:
        return True  # "token": null is JSON; 'mysql_native_password': this user requires... is prose
    if key not in (key.lower(), key.capitalize()) or not key.isalpha():
        return False  # DB_PASSWORD, apiKey, X-Api-Token: identifiers, not English words
    before = text[max(0, key_start - 64):key_start]
    newline = before.rfind("\n")
    if (newline >= 0 or key_start <= 64) and not before[newline + 1:].strip(" \t-#*\"'"):
        return False  # first on its line: YAML, .env, properties
    return before.rstrip(" \t\"'")[-1:] not in ("{", ",", "(", "[", ";")


def _opens_a_structure(value: str) -> bool:
    """serviceAccountToken: {path: token}: a nested mapping, not a value ({noop}pw is a value)."""
    return value[0] in "{[" and ("}" if value[0] == "{" else "]") not in value


def _credential_like(value: str) -> bool:
    return bool(_LOOKS_LIKE_CREDENTIAL.search(value))


def _without_closing_brackets(value: str) -> str:
    while value and value[-1] in ")]}" and value.count(value[-1]) > value.count(_OPENING[value[-1]]):
        value = value[:-1]
    return value


_OPENING = {")": "(", "]": "[", "}": "{"}


def _redact_pem_blocks(text: str, low: str = "") -> str:
    """Private key bodies; BEGIN/END lines stay, and so does the line count (log line numbers)."""
    out, position, no_end = [], 0, set()
    for begin in _PEM_BEGIN.finditer(text):
        if begin.start() < position:  # inside a block already masked
            continue
        label = begin["label"]
        out.append(text[position:begin.end()])
        end = -1 if label in no_end else text.find(f"-----END {label}-----", begin.end())
        if end < 0:
            no_end.add(label)  # remembered, so many BEGINs without an END stay linear
            end = _pem_body_end(text, begin.end())
            body = text[begin.end():end]
            out.append(" " + REDACTED + "\n" * body.count("\n") if body.strip(" \t") else body)
        else:
            newlines = text.count("\n", begin.end(), end)
            out.append(" " + REDACTED + " " if newlines == 0 else "\n" + REDACTED + "\n" * (newlines - 1))
        position = end
    out.append(text[position:])
    return "".join(out)


def _pem_body_end(text: str, start: int) -> int:
    """Where a key body without END line stops (a cut log): after its short last line."""
    position = _PEM_HEADER_REST.match(text, start).end()
    while position < len(text) and text[position] == "\n":
        line_end = text.find("\n", position + 1)
        line_end = len(text) if line_end < 0 else line_end
        line = text[position + 1:line_end].strip()
        field = _PEM_FIELD.match(line)
        if not field and not _PEM_BASE64_LINE.fullmatch(line):
            break
        position = line_end
        if not field and len(line) < 60:
            break  # PEM lines are 64 characters (OpenSSH 70): the short one is the last
    return position


# (lower-case triggers, rule): a rule runs only when one of its triggers is in the text.
_KEY_TRIGGERS = ("pass", "pwd", "secret", "token", "sig", "key")
_RULES: list[tuple[tuple[str, ...], Callable[[str, str], str]]] = [
    (("-----begin",), _redact_pem_blocks),
    (("://",), _on_text(_URL_PASSWORD, _mask("pw"))),
    (("oracle:thin",), _on_lowered(_ORACLE_THIN, _mask("pw"))),
    (("@tcp", "@udp", "@unix"), _on_text(_GO_MYSQL_DSN, _mask("pw"))),
    (("authorization",), _on_lowered(_AUTHORIZATION, _authorization)),
    (("bearer",), _on_lowered(_BEARER, _bearer)),
    (("basic",), _on_lowered(_BASIC, _basic)),
    (("eyj",), _on_text(_JWT, lambda text, match: REDACTED)),
    (("akia", "asia"), _on_text(_AWS_KEY_PAIR, _mask("id", "secret"))),
    (("akia", "asia"), _on_text(_AWS_KEY_ID, _mask("id"))),
    (("aiza",), _on_text(_GCP_API_KEY, _mask("key"))),
    (("ya29.",), _on_text(_GOOGLE_OAUTH, _mask("token"))),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), _on_text(_GITHUB, _mask("token", "pat"))),
    (("xox",), _on_text(_SLACK, _mask("token"))),
    (("k_live_", "k_test_"), _on_text(_STRIPE, _mask("key"))),
    (("value",), _on_text(_ENV_ENTRY, _env_entry)),
    (_KEY_TRIGGERS, _on_lowered(_KEY_VALUE, _key_value)),
    (_KEY_TRIGGERS, _on_lowered(_FLAG_SPACE_VALUE, _flag_space_value)),
]


# -- objects -------------------------------------------------------------------------------

# Env var (and ConfigMap key) names whose literal value is a credential.
_SECRET_NAME = re.compile(r"password|passwd|secret|token|api_?key|private_?key|credentials", re.IGNORECASE)
_PATH_NAME = re.compile(r"(?:_FILE|_PATH|_DIR|_FILENAME|CREDENTIALS)$", re.IGNORECASE)
_BOOLEAN = frozenset({"", "true", "false", "yes", "no", "on", "off"})


def redact_object(obj: Any) -> Any:
    """A redacted deep copy of a Kubernetes object (or any JSON value)."""
    return _redact_object(obj, True)


def _redact_object(obj: Any, copy: bool) -> Any:
    redacted = _redact(obj, copy)
    if type(obj) is dict and obj.get("kind") == "ConfigMap" and isinstance(obj.get("data"), dict):
        data = {name: _redact_named_value(name, item, copy) for name, item in obj["data"].items()}
        if copy or data != obj["data"]:
            redacted = dict(redacted) if redacted is obj else redacted
            redacted["data"] = data
    return redacted


def _redact(value: Any, copy: bool) -> Any:
    """The redacted value. With ``copy`` False, whatever holds no credential is returned as is
    (not copied): half the cost on a big snapshot, for the states ``load`` throws away."""
    kind = type(value)
    if kind is str:
        return redact_text(value)
    if kind is dict:
        return _redact_dict(value, copy)
    if kind is list:
        return _redact_list(value, None, copy)
    return value


def _redact_dict(value: dict, copy: bool) -> dict:
    # The hot loop of a big snapshot: types are tested inline, strings go to the memo first.
    memo = _MEMO
    out = {} if copy else None
    for name, item in value.items():
        kind = type(item)
        if kind is str:
            new = memo.get(item)
            if new is None:
                new = redact_text(item)
            if out is None and new == item:
                continue
        elif kind is dict:
            new = _redact_annotations(item, copy) if name == "annotations" else _redact_dict(item, copy)
        elif kind is list:
            new = _redact_list(item, name, copy)
        else:
            new = item
        if out is not None:
            out[name] = new
        elif new is not item:
            out = dict(value)  # the first change: copy this level, keep the (shared) rest
            out[name] = new
    return value if out is None else out


def _redact_list(items: list, key: str | None, copy: bool) -> list:
    if key == "env":
        new = [_redact_env_var(item, copy) for item in items]
    elif key in ("args", "command"):
        new = _redact_argv(items, copy)
    else:
        new = [_redact(item, copy) for item in items]
    return new if copy or new != items else items


def _redact_env_var(var: Any, copy: bool) -> Any:
    if not isinstance(var, dict) or "value" not in var:
        return _redact(var, copy)  # valueFrom names a Secret key, not a value
    redacted = dict(_redact(var, copy))
    redacted["value"] = _redact_named_value(var.get("name"), var["value"], copy)
    return redacted


def _redact_named_value(name: Any, value: Any, copy: bool) -> Any:
    """Mask a literal value whose name says it is a credential (DB_PASSWORD, GITHUB_TOKEN)."""
    if not isinstance(value, str):
        return _redact(value, copy)
    if isinstance(name, str) and _names_a_secret_value(name, value):
        return REDACTED
    return redact_text(value)


def _names_a_secret_value(name: str, value: str) -> bool:
    if not _SECRET_NAME.search(name) or value.strip().lower() in _BOOLEAN or _NOT_A_SECRET.fullmatch(value):
        return False
    # GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/key.json says where the secret is, not what
    return not (_PATH_NAME.search(name) and value.startswith("/") and not any(c.isspace() for c in value))


def _redact_argv(argv: list, copy: bool) -> list:
    """args/command lists: ["--password", "hunter2"] masks the word after a credential flag."""
    out = []
    for index, item in enumerate(argv):
        previous = argv[index - 1] if index else None
        if (isinstance(item, str) and isinstance(previous, str) and previous.startswith("-")
                and _SECRET_FLAG.fullmatch(_lower(previous)) and _flag_takes_secret(previous)
                and item and not item.startswith("-") and not _NOT_A_SECRET.fullmatch(item)):
            out.append(REDACTED)
        else:
            out.append(_redact(item, copy))
    return out


def _redact_annotations(annotations: dict, copy: bool) -> dict:
    redacted = {}
    for name, value in annotations.items():
        if name == LAST_APPLIED and isinstance(value, str):
            redacted[name] = _redact_last_applied(value)
        else:
            redacted[name] = _redact(value, copy)
    return redacted if copy or redacted != annotations else annotations


def _redact_last_applied(text: str) -> str:
    """kubectl apply's copy of the manifest: redacted as an object, so the env rule applies too."""
    try:
        applied = json.loads(text)
    except ValueError:
        return redact_text(text)
    redacted = _redact_object(applied, False)
    if redacted is applied:
        return text  # byte for byte as the API server returned it
    return json.dumps(redacted, separators=(",", ":")) + ("\n" if text.endswith("\n") else "")


# -- states --------------------------------------------------------------------------------

class RedactingLogStore(LogStore):
    """A view of a LogStore that masks each pod's logs the first time they are read: logs stay
    lazy, and line numbers (``first_line_number``, ``truncated``) stay those of the original."""

    def __init__(self, inner: LogStore) -> None:
        super().__init__()
        self._inner = inner
        self._redacted: dict[tuple[str, str, bool], dict[str, ContainerLog]] = {}

    def add_file(self, namespace: str, pod: str, previous: bool, path) -> None:
        self._redacted.pop((namespace, pod, previous), None)
        self._inner.add_file(namespace, pod, previous, path)

    def add_text(self, namespace: str, pod: str, container: str, previous: bool, text: str) -> None:
        self._redacted.pop((namespace, pod, previous), None)
        self._inner.add_text(namespace, pod, container, previous, text)

    def _pod_logs(self, namespace: str, pod: str, previous: bool) -> dict[str, ContainerLog]:
        key = (namespace, pod, previous)
        if key not in self._redacted:
            self._redacted[key] = {container: replace(log, text=redact_text(log.text))
                                   for container, log in self._inner._pod_logs(namespace, pod, previous).items()}
        return self._redacted[key]

    def pods(self) -> set[tuple[str, str, bool]]:
        return self._inner.pods()

    def __bool__(self) -> bool:
        return bool(self._inner)


def redact_state(state: ClusterState) -> ClusterState:
    """A new state whose objects, logs, warnings and read errors carry no credential.

    Objects that hold none are shared with ``state``, not copied (``load`` discards it)."""
    logs = state.logs if isinstance(state.logs, RedactingLogStore) else RedactingLogStore(state.logs)
    return replace(
        state,
        objects={kind: [_redact_object(obj, False) for obj in items] for kind, items in state.objects.items()},
        logs=logs,
        warnings=[redact_text(warning) for warning in state.warnings],
        errors=[replace(error, message=redact_text(error.message), reason=redact_text(error.reason))
                for error in state.errors])

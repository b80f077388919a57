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
from typing import Any, Callable, Iterable

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

# Words in the lowered text without which no pattern can match: one scan for them, and a text
# holding none is returned as it is.
_TRIGGER_WORDS = (
    "pass", "pwd", "secret", "token", "sig", "authorization", "bearer", "basic", "://", "oracle:thin",
    *(prefix + separator + suffix
      for prefix in ("api", "access", "account", "private", "signing", "encryption", "master", "subscription", "key")
      for separator in ("", "_", "-") for suffix in ("key", "data")),
    "akia", "asia", "aiza", "ya29.", "-----begin", "eyj", *(f"gh{kind}_" for kind in "opusr"), "github_pat_",
    *(f"xox{kind}-" for kind in "baprs"), *(f"{kind}k_{mode}_" for kind in "sr" for mode in ("live", "test")),
    *(f"@{network}" for network in ("tcp", "udp", "unix")))
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _trie_regex(words) -> re.Pattern:
    """A regex finding any of ``words``, common prefixes factored out (p(?:ass|wd)|s(?:ecret|ig)):
    re tries alternatives one by one at each character, so this scans twice as fast as
    word|word|... A word starting with a shorter one (signing_key, sig) is left out: a search
    finds the shorter one anyway."""
    trie: dict = {}  # char -> subtree; "" marks the end of a word
    for word in sorted(words, key=len):
        node = trie
        for char in word:
            if "" in node:
                break  # a shorter word ends here
            node = node.setdefault(char, {})
        else:
            node[""] = {}

    def pattern(node: dict) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return re.compile(pattern(trie))


_TRIGGER = _trie_regex(_TRIGGER_WORDS)


def redact_text(text: str) -> str:
    """``text`` with every credential it holds masked; the text itself when it holds none."""
    known = _CLEAN.get(text)
    if known is None:
        known = _MASKED.get(text)
        if known is None:
            known = _redact_uncached(text)
            _remember(text, known)
    return known


# Names, labels, images and flags repeat across thousands of objects: remember short ones. A clean
# one maps to one object of its own, which the object walk below puts in place of every equal copy:
# a snapshot of 10,000 pods holds 4 million string values, only half a million of them distinct.
_CLEAN: dict[str, str] = {}
_MASKED: dict[str, str] = {}
_MEMO_TEXT_LIMIT = 256
_MEMO_ENTRIES = 1 << 17


def _remember(text: str, redacted: str) -> None:
    if len(text) > _MEMO_TEXT_LIMIT:
        return
    memo = _CLEAN if redacted == text else _MASKED
    if len(memo) >= _MEMO_ENTRIES:
        memo.clear()
    memo[text] = text if memo is _CLEAN else redacted


def _redact_uncached(text: str) -> str:
    low = _lower(text)
    if not _TRIGGER.search(low):
        return text
    for _ in range(_MAX_ROUNDS):
        # Again until nothing changes: a mask can complete a match for an earlier rule
        # (a masked value followed by "@tcp("), and redacting twice must change nothing.
        before = text
        for triggers, rule in _RULES:
            if any(map(low.__contains__, triggers)):  # map: no generator frame per rule
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
#
# Objects are masked in place: what a loader reads belongs to nobody else yet, so only a string
# holding a credential gets a new object, and no second copy of a big snapshot is ever built. Each
# walk function says whether it masked anything (for last-applied-configuration).

# Env var, ConfigMap key and annotation names whose literal value is a credential. (Not labels:
# selectors match on their values.)
_SECRET_NAME = re.compile(r"password|passwd|secret|token|api[_-]?key|private[_-]?key|credentials", re.IGNORECASE)
_PATH_NAME = re.compile(r"(?:_FILE|_PATH|_DIR|_FILENAME|CREDENTIALS)$", re.IGNORECASE)
_BOOLEAN = frozenset({"", "true", "false", "yes", "no", "on", "off"})


def redact_in_place(objects: Iterable[dict]) -> None:
    """Mask the credentials in these Kubernetes objects (dicts) themselves. Equal strings in them
    become one object, the memo's: a big snapshot repeats most of its strings."""
    for obj in objects:
        _mask_object(obj)


def redact_object(obj: Any) -> Any:
    """A redacted deep copy of a Kubernetes object (or any JSON value)."""
    holder = [_copied(obj)]
    _mask_root(holder)
    return holder[0]


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {name: _copied(item) for name, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    return value


def _mask_root(holder: list) -> bool:
    """Mask holder[0], a whole value (an object gets the ConfigMap rule, a string is replaced)."""
    value = holder[0]
    return _mask_object(value) if type(value) is dict else _mask_item(holder, 0, value)


def _mask_object(obj: dict) -> bool:
    data = obj.get("data")
    if obj.get("kind") != "ConfigMap" or not isinstance(data, dict):
        return _mask_dict(obj)
    masked = False
    for name, item in obj.items():
        if name != "data":
            masked |= _mask_entry(obj, name, item)
    for name, item in data.items():  # keys named like credentials: their values are masked whole
        masked |= _masked_by_name(data, name, name, item) or _mask_item(data, name, item)
    return masked


def _mask_dict(value: dict) -> bool:
    # The hot loop of a big snapshot: _mask_entry inlined, strings looked up in the memo first.
    clean = _CLEAN
    masked = False
    for name, item in value.items():
        kind = type(item)
        if kind is str:
            known = clean.get(item)
            if known is None:
                known = redact_text(item)
                masked |= known != item
            if known is not item:
                value[name] = known  # masked, or the memo's equal string: one object for all copies
        elif kind is dict:
            masked |= _mask_annotations(item) if name == "annotations" else _mask_dict(item)
        elif kind is list:
            masked |= _mask_list(item, name)
    return masked


def _mask_entry(container: dict, name: Any, item: Any) -> bool:
    """container[name] as _mask_dict masks it: lists and annotations are known by their key."""
    kind = type(item)
    if kind is dict:
        return _mask_annotations(item) if name == "annotations" else _mask_dict(item)
    if kind is list:
        return _mask_list(item, name)
    return _mask_item(container, name, item)


def _mask_item(container: Any, key: Any, item: Any) -> bool:
    """container[key], whose key says nothing about it (a list item, an annotation's value)."""
    kind = type(item)
    if kind is str:
        known = _CLEAN.get(item)
        masked = False
        if known is None:
            known = redact_text(item)
            masked = known != item
        if known is not item:
            container[key] = known
        return masked
    if kind is dict:
        return _mask_dict(item)
    if kind is list:
        return _mask_list(item, None)
    return False


def _mask_list(items: list, key: Any) -> bool:
    masked = False
    if key == "env":
        for index, var in enumerate(items):
            masked |= _mask_env_var(items, index, var)
    elif key in ("args", "command"):
        masked = _mask_argv(items)
    else:
        for index, item in enumerate(items):
            masked |= _mask_item(items, index, item)
    return masked


def _mask_env_var(env: list, index: int, var: Any) -> bool:
    if isinstance(var, dict) and "value" in var:  # valueFrom names a Secret key, not a value
        return _masked_by_name(var, "value", var.get("name"), var["value"]) | _mask_dict(var)
    return _mask_item(env, index, var)


def _masked_by_name(container: dict, key: Any, name: Any, value: Any) -> bool:
    """Mask a literal value whose name says it is a credential (DB_PASSWORD, GITHUB_TOKEN) whole."""
    if isinstance(value, str) and isinstance(name, str) and _names_a_secret_value(name, value):
        container[key] = REDACTED
        return True
    return False


def _names_a_secret_value(name: str, value: str) -> bool:
    if not _SECRET_NAME.search(name) or value.strip().lower() in _BOOLEAN or _NOT_A_SECRET.fullmatch(value):
        return False
    # GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/key.json says where the secret is, not what
    return not (_PATH_NAME.search(name) and value.startswith("/") and not any(c.isspace() for c in value))


def _mask_argv(argv: list) -> bool:
    """args/command lists: ["--password", "hunter2"] masks the word after a credential flag."""
    masked, previous = False, None
    for index, item in enumerate(argv):
        if (isinstance(item, str) and isinstance(previous, str) and previous.startswith("-")
                and _SECRET_FLAG.fullmatch(_lower(previous)) and _flag_takes_secret(previous)
                and item and not item.startswith("-") and not _NOT_A_SECRET.fullmatch(item)):
            argv[index] = REDACTED
            masked = True
        else:
            masked |= _mask_item(argv, index, item)
        previous = item
    return masked


def _mask_annotations(annotations: dict) -> bool:
    masked = False
    for name, value in annotations.items():
        if name == LAST_APPLIED and isinstance(value, str):
            redacted = _redact_last_applied(value)
            if redacted is not value:
                annotations[name] = redacted
                masked = True
        elif isinstance(name, str) and _masked_by_name(annotations, name, name, value):
            masked = True  # db-password: hunter2 - the key says what the value is, as for env vars
        else:
            masked |= _mask_item(annotations, name, value)
    return masked


def _redact_last_applied(text: str) -> str:
    """kubectl apply's copy of the manifest: redacted as an object, so the env rule applies too."""
    try:
        holder = [json.loads(text)]
        masked = _mask_root(holder)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack: as text
        return redact_text(text)
    if not masked:
        return text  # byte for byte as the API server returned it
    return json.dumps(holder[0], separators=(",", ":")) + ("\n" if text.endswith("\n") else "")


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

    ``state`` is left as it is; its objects that hold no credential are shared, not copied."""
    redacted = replace(state, objects={kind: [_redacted_or_same(obj) for obj in items]
                                       for kind, items in state.objects.items()})
    _redact_the_rest(redacted)
    return redacted


def redact_state_in_place(state: ClusterState, objects: bool = True) -> None:
    """Mask ``state`` itself, a state nobody else holds (what ``sources.load`` just read): its
    objects (unless ``objects`` is False: the snapshot loader masks each file's as it reads),
    warnings and read errors; its logs are masked when read."""
    if objects:
        redact_in_place(obj for items in state.objects.values() for obj in items)
    _redact_the_rest(state)


def _redacted_or_same(obj: Any) -> Any:
    holder = [_copied(obj)]
    return holder[0] if _mask_root(holder) else obj


def _redact_the_rest(state: ClusterState) -> None:
    if not isinstance(state.logs, RedactingLogStore):
        state.logs = RedactingLogStore(state.logs)
    state.warnings = [redact_text(warning) for warning in state.warnings]
    state.errors = [replace(error, message=redact_text(error.message), reason=redact_text(error.reason))
                    for error in state.errors]

"""Timestamps and kubectl-style ages.

Every age in this project is measured against the snapshot's capture time
(``ClusterState.now``), never the wall clock, so that executed notebooks are
reproducible and nbval can compare their outputs.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

# RFC 3339 as the API server writes it, plus the odd variants real dumps contain:
# fractional seconds of any length, "+00:00" offsets, a space instead of "T".
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


_PARSED: dict[str, datetime | None] = {}  # snapshots repeat timestamps (a second's worth of events share one)
_PARSED_MAX = 200_000


def parse_time(value: object) -> datetime | None:
    """Parse a Kubernetes timestamp into an aware UTC datetime; None if absent or unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        return _PARSED[value]
    except KeyError:
        pass
    moment = _parse(value)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[value] = moment
    return moment


def _parse(value: str) -> datetime | None:
    text = value.strip()
    match = _RFC3339.match(text)
    if not match:
        return None
    try:  # the C parser: same result for what the pattern accepts, 10x faster (big snapshots parse millions)
        moment = datetime.fromisoformat(text)
    except ValueError:  # "z", impossible dates: the exact path below decides
        return _from_groups(match)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _from_groups(match: re.Match) -> datetime | None:
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    except ValueError:
        return None
    tz = timezone.utc
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return moment.replace(tzinfo=tz).astimezone(timezone.utc)


def format_time(moment: datetime | None) -> str | None:
    """RFC 3339 with a Z suffix, as the API server writes it."""
    if moment is None:
        return None
    moment = moment.astimezone(timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def human_duration(delta: timedelta | float | None) -> str:
    """A duration the way kubectl prints AGE: 83s, 2m24s, 139m, 3h33m, 20h, 2d4h, 45d."""
    if delta is None:
        return "<unknown>"
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    if seconds < -1:
        return "<invalid>"  # clock skew beyond tolerance, as kubectl says it
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years, rest = divmod(days, 365)
    if years < 8 and rest:
        return f"{years}y{rest}d"
    return f"{years}y"


def age(moment: datetime | None, now: datetime) -> str:
    """kubectl AGE of a timestamp relative to ``now``."""
    if not _known(moment):
        return "<unknown>"
    return human_duration(now - moment)


def ago(moment: datetime | None, now: datetime) -> str:
    """'5m ago' relative to ``now``, for prose."""
    if not _known(moment):
        return "at an unknown time"
    return f"{age(moment, now)} ago"


def _known(moment: object) -> bool:
    """A real datetime: not None, nor the NaN/NaT a frame holds for a timestamp nobody could parse."""
    return isinstance(moment, datetime) and moment == moment  # NaT != NaT

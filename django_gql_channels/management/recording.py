"""The JSON Lines format ``gql_listen_group`` writes and ``gql_send_group --file`` replays.

One record per line::

    {"group": "chat_lobby", "message": {"type": "chat.message", "text": "hi"}, "at": 0.25}

- ``group``: a Channels group name (ASCII letters, digits, ``-``, ``_``, ``.``; under 100 characters);
- ``message``: the channel-layer message, a JSON object with a string ``type``;
- ``at`` (optional): seconds from the start of the recording. A record without it follows the
  one before it at once; an ``at`` earlier than the record before it is treated the same way.

Channel-layer messages may carry bytes, which JSON cannot: they are written as
``{"$bytes": "<base64>"}`` and turned back into bytes when read.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from channels.layers import BaseChannelLayer

from ..engine.json_kinds import json_kind_with_article

__all__ = [
    "BadRecord",
    "Record",
    "check_group",
    "check_message",
    "dump_record",
    "parse_message_json",
    "parse_record",
    "read_records",
    "timeline",
]

RECORD_KEYS = ("group", "message", "at")
BYTES_KEY = "$bytes"

# Only for Channels' own group-name rule, so names are refused here exactly as a layer would.
_NAME_RULES = BaseChannelLayer()


class BadRecord(ValueError):
    """A message, group or record line that cannot be sent; ``line`` is 1-based when known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line

    def at_line(self, line: int) -> BadRecord:
        return BadRecord(self.reason, line)

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line is not None else self.reason


@dataclass(frozen=True)
class Record:
    group: str
    message: dict[str, Any]
    at: float | None = None



def check_group(name: Any) -> str:
    """``name`` if Channels accepts it as a group name, else :class:`BadRecord`."""
    if not isinstance(name, str):
        raise BadRecord(f'"group" must be a string, not {json_kind_with_article(name)}')
    try:
        _NAME_RULES.require_valid_group_name(name)
    except TypeError as exc:
        raise BadRecord(f"{name!r} is not a valid group name: {str(exc).rstrip('.')}") from None
    return name


def check_message(value: Any) -> dict[str, Any]:
    """``value`` if it is a channel-layer message (an object with a non-empty string ``type``)."""
    if not isinstance(value, dict):
        raise BadRecord(f'the message must be a JSON object with a string "type", not {json_kind_with_article(value)}')
    kind = value.get("type")
    if not isinstance(kind, str) or not kind:
        if "type" not in value:
            found = 'it has no "type"'
        elif kind == "":
            found = '"type" is empty'
        else:
            found = f'"type" is {json_kind_with_article(kind)}'
        raise BadRecord(f'the message must have a non-empty string "type" ({found})')
    return value


def _decode_bytes(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and isinstance(obj.get(BYTES_KEY), str):
        try:
            return base64.b64decode(obj[BYTES_KEY], validate=True)
        except binascii.Error:
            raise BadRecord(f'"{BYTES_KEY}" holds invalid base64') from None
    return obj


def _loads(text: str) -> Any:
    try:
        return json.loads(text, object_hook=_decode_bytes)
    except json.JSONDecodeError as exc:
        raise BadRecord(f"not valid JSON: {exc.msg} (column {exc.colno})") from None


def parse_message_json(text: str) -> dict[str, Any]:
    """A message given on the command line, checked as a layer would need it."""
    return check_message(_loads(text))


def parse_record(text: str) -> Record:
    """One line of a recording; raises :class:`BadRecord` saying what is wrong with it."""
    data = _loads(text)
    if not isinstance(data, dict):
        raise BadRecord(
            f'a record must be a JSON object {{"group", "message", "at"}}, not {json_kind_with_article(data)}'
        )
    unknown = [key for key in data if key not in RECORD_KEYS]
    if unknown:
        raise BadRecord(f"unknown key(s) {', '.join(map(repr, unknown))}; a record has \"group\", "
                        "\"message\" and optionally \"at\"")
    for key in ("group", "message"):
        if key not in data:
            raise BadRecord(f'the record has no "{key}"')
    group = check_group(data["group"])
    message = check_message(data["message"])
    at = data.get("at")
    if at is not None and (
        isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at) or at < 0
    ):
        raise BadRecord(f'"at" must be a number of seconds >= 0, not {at!r}')
    return Record(group, message, None if at is None else float(at))


def read_records(lines: Iterable[str]) -> tuple[list[Record], list[BadRecord]]:
    """Every good record and every bad line (with its number) of a recording; blank lines are skipped."""
    records: list[Record] = []
    bad: list[BadRecord] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(parse_record(line))
        except BadRecord as exc:
            bad.append(exc.at_line(number))
    return records, bad


def _encode_bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {BYTES_KEY: base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def dump_record(group: str, message: dict[str, Any], at: float | None = None) -> str:
    """One recording line (without its newline)."""
    record: dict[str, Any] = {"group": group, "message": message}
    if at is not None:
        record["at"] = round(at, 4)
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_encode_bytes)


def timeline(records: list[Record], repeat: int = 1) -> Iterator[tuple[float, Record]]:
    """``(seconds from the start of the replay, record)`` at recorded speed, ``repeat`` times over.

    Each pass starts where the one before it ended (at its last ``at``).
    """
    offset = 0.0
    for _ in range(repeat):
        at = 0.0
        for record in records:
            if record.at is not None and record.at > at:
                at = record.at
            yield offset + at, record
        offset += at

"""``manage.py gql_send_group``: one message to a group, or a recording replayed with its timing."""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from ..cli import (
    INTERRUPTED,
    USAGE_ERROR,
    Stopper,
    non_negative_float,
    plain,
    plural,
    positive_float,
    positive_int,
)
from ..layer import DEFAULT_LAYER_TIMEOUT, LayerError, bounded, configured_layer
from ..recording import BadRecord, Record, check_group, parse_message_json, read_records, timeline


class Progress:
    """A one-line progress bar, redrawn at most ten times a second; silent when off."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper, total: int, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled and total > 1
        self._drawn_at = 0.0

    def update(self, done: int, elapsed: float, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        filled = self.WIDTH * done // self.total
        rate = done / elapsed if elapsed > 0 else 0.0
        self._write(f"\r[{'#' * filled}{'-' * (self.WIDTH - filled)}] {done}/{self.total} "
                    f"{100 * done // self.total}% {rate:.0f} msg/s ")

    def finish(self, done: int, elapsed: float) -> None:
        if self.enabled:
            self.update(done, elapsed, force=True)
            self._write("\n")

    def _write(self, text: str) -> None:
        self.stream.write(text, style_func=plain, ending="")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Send one channel-layer message to a group through the configured layer, or replay a JSON Lines "
        'recording (one {"group": ..., "message": {...}, "at": seconds} per line, as gql_listen_group '
        "writes) in order and with its timing. With the in-memory layer this reaches the current process "
        "only, never a server running in another one."
    )
    # The commands check what they use themselves; unrelated system-check failures must not block them.
    requires_system_checks: list[str] = []
    stealth_options = ("stdin",)  # call_command(..., stdin=StringIO(...)) for --file -, as createsuperuser does

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("group", nargs="?", metavar="GROUP", help="Group name (Channels' rules).")
        parser.add_argument("message", nargs="?", metavar="MESSAGE_JSON",
                            help='The message: a JSON object with a string "type", e.g. '
                                 '\'{"type": "chat.message", "text": "hi"}\'.')
        parser.add_argument("--file", "-f", metavar="PATH",
                            help="Replay this JSON Lines recording instead ('-' reads standard input).")
        parser.add_argument("--speed", type=non_negative_float, metavar="FACTOR",
                            help="Replay speed: 2 is twice as fast as recorded, 0 sends as fast as "
                                 "possible (default 1). Only with --file.")
        parser.add_argument("--repeat", type=positive_int, default=1, metavar="N",
                            help="Send the message, or replay the file, N times over (default 1).")
        parser.add_argument("--strict", action="store_true",
                            help="A bad line in --file stops the command before anything is sent "
                                 "(default: report it with its line number and skip it).")
        parser.add_argument("--layer-timeout", type=positive_float, default=DEFAULT_LAYER_TIMEOUT,
                            metavar="SECONDS",
                            help=f"Give up on a layer call after this long (default {DEFAULT_LAYER_TIMEOUT:g}).")

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        repeat, speed = options["repeat"], options["speed"]
        # call_command(...) keyword options bypass argparse, so check them again here.
        if not isinstance(repeat, int) or repeat < 1:
            raise CommandError(f"--repeat must be an integer >= 1, not {repeat!r}.", returncode=USAGE_ERROR)
        if speed is not None and (not isinstance(speed, (int, float)) or not math.isfinite(speed) or speed < 0):
            raise CommandError(f"--speed must be a number >= 0, not {speed!r}.", returncode=USAGE_ERROR)

        records = self._records(options)
        info = configured_layer()
        if info.in_memory and verbosity > 0:
            self.stderr.write(f"warning: {info.in_memory_warning('gql_send_group')}")
        if not records:
            if verbosity > 0:
                self.stderr.write("warning: nothing to send: the recording holds no messages.")
            return
        try:
            layer = info.get()
        except LayerError as exc:
            raise CommandError(f"{info}: {exc}") from exc

        total = len(records) * repeat
        speed = 1.0 if speed is None else speed
        progress = Progress(self.stderr, total, enabled=verbosity > 0 and self.stderr.isatty())
        replay = _Replay(layer, progress, speed, options["layer_timeout"])
        stopper = Stopper()
        stopper.install()
        try:
            if options["file"] is not None and verbosity > 0:  # after install(): "stop with Ctrl-C" holds
                recorded = max((at for at, _ in timeline(records, repeat)), default=0.0)
                pace = "as fast as possible" if speed == 0 or not recorded else f"over {recorded / speed:.1f} s"
                self.stderr.write(f"Replaying {plural(total, 'message')} {pace} through {info}; stop with Ctrl-C.",
                                  style_func=plain)
                self.stderr.flush()
            async_to_sync(replay.run)(records, repeat, stopper)
        finally:
            stopper.restore()
        progress.finish(replay.sent, replay.elapsed)
        done = f"{replay.sent} of {plural(total, 'message')} sent"
        if replay.error is not None:
            raise CommandError(f"{info}: {replay.error}. {done}.")
        if replay.stopped:
            raise CommandError(f"Stopped by signal: {done}.", returncode=INTERRUPTED)
        if verbosity > 0:
            rate = f"{replay.sent / replay.elapsed:.1f}" if replay.elapsed > 0 else "-"
            self.stdout.write(f"Sent {plural(replay.sent, 'message')} to {plural(len(replay.groups), 'group')} in "
                              f"{replay.elapsed:.2f} s ({rate} messages/s) through {info}.")

    # -- input -----------------------------------------------------------------

    def _records(self, options: dict[str, Any]) -> list[Record]:
        group, message, path = options["group"], options["message"], options["file"]
        if path is not None:
            if group is not None or message is not None:
                raise CommandError("Give either GROUP MESSAGE_JSON or --file PATH, not both.",
                                   returncode=USAGE_ERROR)
            return self._read_file(path, options.get("stdin") or sys.stdin, strict=options["strict"],
                                   verbosity=options["verbosity"])
        if group is None or message is None:
            raise CommandError("Give GROUP and MESSAGE_JSON (or --file PATH); see --help.",
                               returncode=USAGE_ERROR)
        if options["speed"] is not None:
            raise CommandError("--speed only applies to --file.", returncode=USAGE_ERROR)
        try:
            return [Record(check_group(group), parse_message_json(message))]
        except BadRecord as exc:
            raise CommandError(f"Nothing sent: {exc}", returncode=USAGE_ERROR) from None

    def _read_file(self, path: str, stdin: IO[str], *, strict: bool, verbosity: int) -> list[Record]:
        name = "standard input" if path == "-" else path
        try:
            if path == "-":
                records, bad = read_records(_lines(stdin))
            else:
                with open(path, encoding="utf-8") as stream:
                    records, bad = read_records(_lines(stream))
        except OSError as exc:
            raise CommandError(f"Cannot read {name}: {exc.strerror or exc}.", returncode=USAGE_ERROR) from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"Cannot read {name}: not UTF-8 text ({exc.reason} at byte {exc.start}).",
                               returncode=USAGE_ERROR) from None
        for problem in bad:
            if strict or verbosity > 0:
                self.stderr.write(f"{name}: {problem}" + ("" if strict else " (skipped)"))
        if bad and strict:
            raise CommandError(f"Nothing sent: {plural(len(bad), 'bad line')} in {name} (--strict).",
                               returncode=USAGE_ERROR)
        return records


class _Replay:
    """Sends records at their times (scaled by ``speed``; 0: at once), until done, an error or a signal."""

    def __init__(self, layer: Any, progress: Progress, speed: float, timeout: float) -> None:
        self.layer = layer
        self.progress = progress
        self.speed = speed
        self.timeout = timeout
        self.sent = 0
        self.groups: set[str] = set()
        self.elapsed = 0.0
        self.error: str | None = None
        self.stopped = False

    async def run(self, records: list[Record], repeat: int, stopper: Stopper) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        stopper.bind(loop, stop.set)
        started = loop.time()
        # The first send opens the layer's connection: the replay's clock restarts when it is
        # done, so that set-up does not shorten the first recorded gap.
        clock = started
        first = True
        try:
            for at, record in timeline(records, repeat):
                delay = clock + at / self.speed - loop.time() if self.speed > 0 else 0
                if delay > 0:  # scheduled against the clock, so slow sends never add up to drift
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    self.stopped = True
                    return
                try:
                    await bounded(self.layer.group_send(record.group, record.message), self.timeout,
                                  f"sending to group {record.group!r}")
                except LayerError as exc:
                    self.error = str(exc)
                    return
                if first and self.speed > 0:
                    clock = loop.time() - at / self.speed
                first = False
                self.sent += 1
                self.groups.add(record.group)
                self.progress.update(self.sent, loop.time() - started)
        finally:
            self.elapsed = loop.time() - started


def _lines(stream: IO[str]) -> Iterable[str]:
    # Read the whole input first: --strict must see every line before anything is sent.
    return stream.read().splitlines()

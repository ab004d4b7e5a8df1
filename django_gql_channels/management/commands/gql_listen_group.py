"""``manage.py gql_listen_group``: record what groups receive, in the format ``gql_send_group --file`` replays."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ..cli import USAGE_ERROR, Stopper, plain, plural, positive_float, positive_int
from ..layer import DEFAULT_LAYER_TIMEOUT, LayerError, bounded, configured_layer, group_round_trip
from ..recording import BadRecord, check_group, dump_record

_STOP = object()


class Command(BaseCommand):
    help = (
        "Record the messages channel-layer groups receive as JSON Lines, one "
        '{"group": ..., "message": {...}, "at": seconds since the first message} per line, which '
        "gql_send_group --file replays with the same timing. Runs until Ctrl-C (or SIGTERM), --count "
        "or --timeout. With the in-memory layer it only sees messages sent inside this same process."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("groups", nargs="+", metavar="GROUP", help="Groups to listen to.")
        parser.add_argument("--output", "-o", metavar="FILE", default="-",
                            help="Write the recording here (default '-': standard output). "
                                 "Each line is flushed as it is written.")
        parser.add_argument("--count", type=positive_int, metavar="N",
                            help="Stop after N messages (from all groups together).")
        parser.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                            help="Stop after listening this many seconds in all (not per message). "
                                 "With --count, ending by timeout before N messages exits with status 1.")
        parser.add_argument("--layer-timeout", type=positive_float, default=DEFAULT_LAYER_TIMEOUT,
                            metavar="SECONDS",
                            help="Give up joining the groups after this long "
                                 f"(default {DEFAULT_LAYER_TIMEOUT:g}).")

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        count, timeout = options["count"], options["timeout"]
        if count is not None and (not isinstance(count, int) or count < 1):
            raise CommandError(f"--count must be an integer >= 1, not {count!r}.", returncode=USAGE_ERROR)
        if timeout is not None and (not isinstance(timeout, (int, float)) or not timeout > 0):
            raise CommandError(f"--timeout must be a number > 0, not {timeout!r}.", returncode=USAGE_ERROR)
        try:
            groups = list(dict.fromkeys(check_group(group) for group in options["groups"]))
        except BadRecord as exc:
            raise CommandError(f"Not listening: {exc}", returncode=USAGE_ERROR) from None

        info = configured_layer()
        if info.in_memory and verbosity > 0:
            self.stderr.write(f"warning: {info.in_memory_warning('gql_listen_group')}")
        try:
            layer = info.get()
        except LayerError as exc:
            raise CommandError(f"{info}: {exc}") from exc

        destination = "standard output" if options["output"] == "-" else options["output"]
        ready = f"Listening to {', '.join(groups)} through {info}, writing to {destination}; stop with Ctrl-C."
        stopper = Stopper()
        stopper.install()
        try:
            with self._output(options["output"]) as out:
                recorder = _Recorder(self, layer, groups, out, verbosity=verbosity, ready=ready)
                outcome = async_to_sync(recorder.run)(count, timeout, options["layer_timeout"], stopper)
        finally:
            stopper.restore()

        where = f"group {groups[0]!r}" if len(groups) == 1 else f"groups {', '.join(map(repr, groups))}"
        ended = {"count": f"--count {count} reached", "timeout": f"--timeout {timeout or 0:g} s reached",
                 "stopped": "stopped by signal", "closed": "output closed", "error": "failed"}[outcome]
        summary = (f"Recorded {plural(recorder.recorded, 'message')} from {where} in "
                   f"{recorder.elapsed:.2f} s ({ended}).")
        if recorder.error is not None:
            raise CommandError(f"{info}: {recorder.error}. {summary}")
        if outcome == "timeout" and count is not None:
            raise CommandError(f"Timed out after {timeout:g} s with {recorder.recorded} of "
                               f"{plural(count, 'message')}. {summary}")
        if verbosity > 0:
            self.stderr.write(summary, style_func=plain)

    @contextlib.contextmanager
    def _output(self, path: str) -> Iterator[IO[str]]:
        if path == "-":
            yield getattr(self.stdout, "_out", sys.stdout)  # the raw stream: records are data, not styled text
            return
        try:
            stream = open(path, "w", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.", returncode=USAGE_ERROR) from None
        with stream:
            yield stream


class _Recorder:
    """Joins the groups (one layer channel each, as a message does not say which group sent it)
    and writes every message as it arrives."""

    def __init__(
        self, command: Command, layer: Any, groups: list[str], out: IO[str], *, verbosity: int, ready: str,
    ) -> None:
        self.command = command
        self.ready = ready
        self.layer = layer
        self.groups = groups
        self.out = out
        self.verbosity = verbosity
        self.recorded = 0
        self.elapsed = 0.0
        self.error: str | None = None

    async def run(self, count: int | None, timeout: float | None, layer_timeout: float, stopper: Stopper) -> str:
        """Listen until a stop condition; returns which: "count", "timeout", "stopped", "closed" or "error"."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stopper.bind(loop, lambda: queue.put_nowait(_STOP))
        started = time.monotonic()
        channels: dict[str, str] = {}
        receivers: list[asyncio.Task[None]] = []
        try:
            try:
                for group in self.groups:
                    channel = await bounded(self.layer.new_channel(), layer_timeout, "creating a channel")
                    await bounded(self.layer.group_add(group, channel), layer_timeout, f"joining group {group!r}")
                    channels[group] = channel
                # Once a probe gets back, every subscription above is live: only now is it safe to say so.
                await group_round_trip(self.layer, layer_timeout)
            except LayerError as exc:
                self.error = str(exc)
                return "error"
            if self.verbosity > 0:
                self.command.stderr.write(self.ready, style_func=plain)
                self.command.stderr.flush()
            receivers = [asyncio.ensure_future(self._receive(group, channel, queue))
                         for group, channel in channels.items()]
            return await self._record(queue, count, None if timeout is None else started + timeout)
        finally:
            self.elapsed = time.monotonic() - started
            await self._leave(receivers, channels, layer_timeout)
            try:
                self.out.flush()
            except BrokenPipeError:
                # Point the closed stdout at /dev/null, or Python's own flush at exit complains.
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), self.out.fileno())

    async def _receive(self, group: str, channel: str, queue: asyncio.Queue[Any]) -> None:
        try:
            while True:
                message = await self.layer.receive(channel)
                queue.put_nowait((group, message, time.monotonic()))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # e.g. Redis went away: end the recording with the reason
            queue.put_nowait(LayerError(f"receiving from group {group!r}: {type(exc).__name__}: {exc}"))

    async def _record(self, queue: asyncio.Queue[Any], count: int | None, deadline: float | None) -> str:
        first: float | None = None
        while count is None or self.recorded < count:
            try:
                if deadline is None:
                    item = await queue.get()
                else:
                    item = await asyncio.wait_for(queue.get(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return "timeout"
            if item is _STOP:
                return "stopped"
            if isinstance(item, LayerError):
                self.error = str(item)
                return "error"
            group, message, received = item
            if first is None:
                first = received
            try:
                line = dump_record(group, message, received - first)
            except (TypeError, ValueError) as exc:
                self.command.stderr.write(f"warning: skipped a message from group {group!r}: {exc}")
                continue
            try:
                self.out.write(line + "\n")
                self.out.flush()  # a reader (tail -f, a pipe) sees each message as it comes
            except BrokenPipeError:  # `| head -n 5`: the reader is done, so are we
                return "closed"
            except OSError as exc:
                raise CommandError(f"Cannot write the recording: {exc.strerror or exc}.") from exc
            self.recorded += 1
        return "count"

    async def _leave(self, receivers: list[asyncio.Task[None]], channels: dict[str, str], timeout: float) -> None:
        for task in receivers:
            task.cancel()
        if receivers:
            await asyncio.wait(receivers, timeout=timeout)
        for group, channel in channels.items():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.layer.group_discard(group, channel), timeout)

"""The go1.x service for one function on one machine: start it, invoke it, end it, start it again.

Theory of operation (PROTOCOL.md section 1, BUNDLE.md section 1). For every instance of the
function the service

1. execs the executable in a process group of its own, with ``_LAMBDA_SERVER_PORT`` set to a free
   port and the environment a go1.x function sees; its stdout and stderr go to one descriptor
   (the caller's stderr by default), never through us;
2. dials ``127.0.0.1:<port>`` and then calls ``Function.Ping``, both retried every 5 ms, until Ping
   is answered or the init timeout passes ("init", timed for Lambda's ``Init Duration``);
3. sends one ``Function.Invoke`` at a time on that connection, each with a deadline ``timeout``
   seconds ahead, and kills the process group with SIGKILL when the deadline passes;
4. ends the instance (SIGKILL to the group) after a timeout, after a reply with ShouldExit, when
   the process exits, or when the conversation breaks. The next event gets a fresh instance: a
   cold start, as Lambda gives it a fresh sandbox.

Each instance lives in a task of the service's nursery, which holds its connection (and the
connection's reader task) and watches its process. The caller's invoke races the reply against
the deadline and the process's exit with cancel scopes; a finished instance's task kills the
group and reaps the process before it ends, so no process outlives :func:`open_service`.

With ``port`` instead of a command there is no process: the service only connects, and a
timeout or a broken conversation drops the connection (the next event dials again).

Nothing here prints: outcomes are values (:class:`InvokeOutcome`), and what a CLI makes of them is
its own business (``_cmd_invoke``), so the bridge verb can reuse the same supervisor.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager

import attrs
import trio

from gobrpc import FIRST_USER_ID_LEGACY, Limits, RemoteCallError, TypeRegistry
from runtime._client import FunctionClient, dial_function, free_port, open_client
from runtime._errors import InvokeFailed
from runtime._messages import InvokeResponse

from . import _service_errors as errors
from ._function_process import FunctionProcess, kill_group, start_function_process
from ._invocation import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_FUNCTION_NAME,
    DEFAULT_REGION,
    Invocation,
    Response,
    function_arn,
    random_hex,
)
from ._service_errors import FunctionError

__all__ = [
    "DEFAULT_INIT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "EXIT_GRACE",
    "FunctionConfiguration",
    "FunctionService",
    "InitFailure",
    "InvokeOutcome",
    "SERVER_PORT_VARIABLE",
    "function_environment",
    "open_service",
]

#: What a function's replies may hold. Lambda refuses responses over 6 MiB, and reports them as
#: ``Function.ResponseSizeTooLarge`` (the function stays up); reading replies up to 1 GiB, whole,
#: as Go's service reads them (Go's gob allows 8 GiB), lets this service report any response a
#: function can sensibly build the same way, instead of as a broken conversation. The bytes are
#: held only as they arrive, and only for the reply that sends them.
_REPLY_LIMIT_BYTES = 1024 * 1024 * 1024
_REPLY_LIMITS = Limits(max_message_size=_REPLY_LIMIT_BYTES, max_elements=_REPLY_LIMIT_BYTES)

#: Where the go1.x service tells the function the port to listen on.
SERVER_PORT_VARIABLE = "_LAMBDA_SERVER_PORT"

#: Lambda's default function timeout, in seconds.
DEFAULT_TIMEOUT = 3.0
#: Lambda gives a function's init phase at most 10 seconds.
DEFAULT_INIT_TIMEOUT = 10.0
#: Lambda's default memory size, in MB.
DEFAULT_MEMORY_SIZE = 128
#: A process that closed its connection because it is dying has been reaped well within this many
#: seconds; a connection that broke while the process lives on past it is the process's doing.
EXIT_GRACE = 0.5

_HOST = "127.0.0.1"


@attrs.frozen(kw_only=True)
class FunctionConfiguration:
    """The function's settings, in the words of Lambda's ``FunctionConfiguration``.

    Attributes:
        function_name: ``AWS_LAMBDA_FUNCTION_NAME`` and the last part of the ARN.
        memory_size: MB, shown to the function as ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` (not
            enforced).
        timeout: seconds from sending Invoke to killing the process group.
        init_timeout: seconds from exec to an answered Ping.
        environment: the function's own variables, applied over the go1.x ones.
        version: ``AWS_LAMBDA_FUNCTION_VERSION``.
        region: ``AWS_REGION`` and ``AWS_DEFAULT_REGION``, and the ARN's region.
        account_id: the ARN's account.
        working_directory: where the function runs and ``LAMBDA_TASK_ROOT``; None means ours.
        hidden: variables of our own environment the function must not inherit (the bridge
            hides ``AWS_LAMBDA_RUNTIME_API``, which would make a modern aws-lambda-go leave
            go1.x's protocol and compete with the bridge for events).
    """

    function_name: str = DEFAULT_FUNCTION_NAME
    memory_size: int = DEFAULT_MEMORY_SIZE
    timeout: float = DEFAULT_TIMEOUT
    init_timeout: float = DEFAULT_INIT_TIMEOUT
    environment: Mapping[str, str] = attrs.field(factory=dict)
    version: str = "$LATEST"
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    working_directory: str | None = None
    hidden: frozenset[str] = frozenset()

    @property
    def function_arn(self) -> str:
        """The function's unqualified ARN."""
        return function_arn(self.function_name, region=self.region, account_id=self.account_id)


@attrs.frozen(kw_only=True)
class InvokeOutcome:
    """What happened to one event.

    Attributes:
        request_id: the invoke's request id.
        payload: the function's answer; None if the invoke failed.
        error: what the caller is shown for a failed invoke; None if it succeeded.
        detail: for a failure of the platform (not an error the function returned), a sentence
            saying what went wrong, e.g. which port never accepted a connection.
        duration: seconds from sending Invoke to the answer, or to giving up.
        init_duration: seconds from exec to the first answered Ping, when this event started a
            fresh process (a cold start); None otherwise.
        max_memory_kib: peak resident memory (``VmHWM``) of the process group leader, when known.
        timed_out: the deadline passed (and the process group was killed).
    """

    request_id: str
    payload: bytes | None = None
    error: FunctionError | None = None
    detail: str | None = None
    duration: float = 0.0
    init_duration: float | None = None
    max_memory_kib: int | None = None
    timed_out: bool = False

    def result(self) -> Response:
        """The successful :class:`Response`, or raise the error.

        Raises:
            InvokeFailed: the invoke failed; it carries the message, type, frames and ShouldExit.
        """
        if self.error is not None:
            raise InvokeFailed(
                message=self.error.message,
                type=self.error.type,
                stack_trace=self.error.stack_trace,
                should_exit=self.error.should_exit,
            )
        return Response(request_id=self.request_id, payload=self.payload or b"")


def _log_stream_name(version: str, now: float) -> str:
    return time.strftime("%Y/%m/%d", time.gmtime(now)) + f"/[{version}]{random_hex(16)}"


def function_environment(
    configuration: FunctionConfiguration,
    *,
    port: int,
    handler: str,
    task_root: str,
    inherited: Mapping[str, str],
    now: float | None = None,
) -> dict[str, str]:
    """The environment a go1.x function is started with.

    ``inherited`` (our own environment, so ``PATH`` and virtualenvs keep working, less the
    configuration's ``hidden`` names) comes first, then the variables the go1.x sandbox sets
    (PROTOCOL.md section 1), then the function's own.
    """
    stamp = time.time() if now is None else now
    name = configuration.function_name
    env = {key: value for key, value in inherited.items() if key not in configuration.hidden}
    env.update(
        {
            SERVER_PORT_VARIABLE: str(port),
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "AWS_EXECUTION_ENV": "AWS_Lambda_go1.x",
            "AWS_REGION": configuration.region,
            "AWS_DEFAULT_REGION": configuration.region,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": configuration.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(configuration.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": _log_stream_name(configuration.version, stamp),
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
        }
    )
    env.update(configuration.environment)
    return env


def _peak_memory_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@attrs.frozen
class InitFailure:
    """An instance that never became ready.

    Attributes:
        error: what the caller is shown (``Runtime.ExitError``, ``Sandbox.Timedout``, ...).
        detail: a sentence saying what went wrong.
        init_duration: seconds from exec to giving up; None if nothing was started.
    """

    error: FunctionError
    detail: str
    init_duration: float | None


@attrs.define(eq=False)
class _Instance:
    """One started function: its process (None in port mode) and, once ready, its connection."""

    process: FunctionProcess | None
    port: int
    started_at: float
    client: FunctionClient | None = None
    init_duration: float | None = None
    init_reported: bool = False
    max_memory_kib: int | None = None
    exited: trio.Event = attrs.field(factory=trio.Event)
    retired: trio.Event = attrs.field(factory=trio.Event)
    finished: trio.Event = attrs.field(factory=trio.Event)
    _exit_scopes: set[trio.CancelScope] = attrs.field(factory=set)

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    @property
    def ready(self) -> bool:
        """Ping was answered (it may have ended since)."""
        return self.client is not None

    @property
    def usable(self) -> bool:
        """Ready, and neither retired nor ended: the exit is looked at now, not only once the
        task that waits for it has run, so a process that ended right after its last reply
        is never sent the next event."""
        return (
            self.client is not None
            and not (self.exited.is_set() or self.retired.is_set())
            and self.returncode is None
        )

    @contextmanager
    def cancelled_on_exit(self, scope: trio.CancelScope) -> Iterator[trio.CancelScope]:
        """Enter ``scope``, cancelling it if the process exits meanwhile."""
        if self.exited.is_set():
            scope.cancel()
        self._exit_scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._exit_scopes.discard(scope)

    def sample_memory(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.max_memory_kib = _peak_memory_kib(self.process.pid) or self.max_memory_kib

    async def watch_exit(self) -> None:
        assert self.process is not None
        await self.process.wait()
        self.exited.set()
        for scope in list(self._exit_scopes):
            scope.cancel()

    async def wait_for_exit(self, grace: float) -> bool:
        """Whether the process exits within ``grace`` seconds (it may already have)."""
        if self.process is None:
            return False
        with trio.move_on_after(grace):
            await self.exited.wait()
        return self.exited.is_set()

    def kill_group(self) -> None:
        """SIGKILL to the whole process group, as the go1.x service's ``Kill(-pid)``."""
        if self.process is not None:
            kill_group(self.process)


@attrs.define(eq=False)
class FunctionService:
    """Plays Lambda's go1.x service for one function; made by :func:`open_service`.

    Invoke one event at a time, as the service does; overlapping calls are not supported.
    """

    configuration: FunctionConfiguration
    command: tuple[str, ...]
    port: int | None
    output: int
    _nursery: trio.Nursery
    registry: TypeRegistry = attrs.field(factory=lambda: TypeRegistry(FIRST_USER_ID_LEGACY))
    measure_memory: bool = True
    _instance: _Instance | None = None

    @property
    def pid(self) -> int | None:
        """The running instance's process id (the process group id too), if there is one."""
        instance = self._instance
        if instance is None or instance.process is None or not instance.usable:
            return None
        return instance.process.pid

    async def start(self) -> InitFailure | None:
        """Start an instance now, as Lambda's init phase does, unless one is running.

        Returns None once it answers Ping, or why it did not (its error messages carry no request
        id: ``Error: ...``). The next :meth:`invoke` reports this init as its cold start.
        """
        started = await self._ensure_instance("")
        return started if isinstance(started, InitFailure) else None

    async def invoke(self, invocation: Invocation) -> InvokeOutcome:
        """Send one event, starting a fresh instance first if there is none.

        Never raises for the function's failures: they come back in the outcome. An event over
        Lambda's 6 MiB is refused before anything is started or sent, as Lambda refuses it.
        """
        if len(invocation.payload) > errors.MAX_REQUEST_PAYLOAD:
            return InvokeOutcome(
                request_id=invocation.request_id,
                error=errors.request_too_large(),
                detail=f"the event is {len(invocation.payload)} bytes, over Lambda's limit",
            )
        started = await self._ensure_instance(invocation.request_id)
        if isinstance(started, InitFailure):
            return InvokeOutcome(
                request_id=invocation.request_id,
                error=started.error,
                detail=started.detail,
                init_duration=started.init_duration,
            )
        init_duration = None if started.init_reported else started.init_duration
        started.init_reported = True
        return await self._invoke(started, invocation, init_duration)

    async def _ensure_instance(self, request_id: str) -> _Instance | InitFailure:
        instance = self._instance
        if instance is not None and instance.usable:
            return instance
        started = await self._start(request_id)
        if isinstance(started, _Instance):
            self._instance = started
        return started

    async def aclose(self) -> None:
        """End the running instance, if any, and wait until its process is gone."""
        if self._instance is not None:
            await self._retire(self._instance)
            self._instance = None

    async def _invoke(
        self, instance: _Instance, invocation: Invocation, init_duration: float | None
    ) -> InvokeOutcome:
        assert instance.client is not None
        timeout = self.configuration.timeout
        request_id = invocation.request_id
        request = invocation.to_request(
            timeout=timeout, function_arn=self.configuration.function_arn
        )
        outcome = InvokeOutcome(request_id=request_id, init_duration=init_duration)
        response: InvokeResponse | None = None
        broken: str | None = None
        refused: str | None = None
        started = trio.current_time()
        with (
            instance.cancelled_on_exit(trio.CancelScope()),
            trio.move_on_after(timeout) as deadline,
        ):
            try:
                response = await instance.client.invoke(request)
            except trio.BrokenResourceError as exc:
                broken = str(exc)
            except RemoteCallError as exc:
                refused = exc.message
        outcome = attrs.evolve(outcome, duration=trio.current_time() - started)
        if refused is not None:
            # net/rpc answered instead of the function (no Function.Invoke method, or a request
            # it could not decode); the connection is still usable, as in Go.
            return attrs.evolve(
                outcome,
                error=errors.broken_connection(request_id, refused),
                detail=f"the process answered Function.Invoke with a net/rpc error ({refused})",
            )
        if response is not None:
            # A reply counts even if the process ends right after sending it.
            if self.measure_memory:
                instance.sample_memory()
            outcome = attrs.evolve(outcome, max_memory_kib=instance.max_memory_kib)
            if response.error is None:
                size = len(response.payload)
                if size > errors.MAX_RESPONSE_PAYLOAD:
                    return attrs.evolve(outcome, error=errors.response_too_large(size))
                return attrs.evolve(outcome, payload=response.payload)
            error = FunctionError.from_response(response.error)
            if error.should_exit:
                await self._retire(instance)
            return attrs.evolve(outcome, error=error)
        outcome = attrs.evolve(outcome, max_memory_kib=instance.max_memory_kib)
        if deadline.cancelled_caught:
            await self._retire(instance)
            return attrs.evolve(
                outcome,
                timed_out=True,
                error=errors.timed_out(request_id, timeout),
                detail=f"the function did not answer within {timeout:.2f} s; "
                + ("its connection was closed" if instance.process is None else "killed it"),
            )
        if broken is not None and not await instance.wait_for_exit(EXIT_GRACE):
            await self._retire(instance)
            return attrs.evolve(
                outcome,
                error=errors.broken_connection(request_id, broken),
                detail="the function broke the net/rpc conversation during Function.Invoke "
                f"({broken})"
                + (
                    "" if instance.process is None else "; its process was still running, killed it"
                ),
            )
        await self._retire(instance)
        returncode = instance.returncode
        assert returncode is not None
        return attrs.evolve(
            outcome,
            error=errors.exited(request_id, returncode),
            detail="the function's process ended during Function.Invoke "
            f"({errors.exit_description(returncode)})",
        )

    async def _start(self, request_id: str) -> _Instance | InitFailure:
        started = await self._nursery.start(self._run_instance, request_id)
        assert isinstance(started, _Instance | InitFailure)
        return started

    async def _retire(self, instance: _Instance) -> None:
        instance.retired.set()
        instance.kill_group()
        await instance.finished.wait()

    async def _run_instance(
        self,
        request_id: str,
        task_status: trio.TaskStatus[_Instance | InitFailure] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        reported = False
        instance: _Instance | None = None
        try:
            spawned = await self._spawn(request_id)
            if isinstance(spawned, InitFailure):
                task_status.started(spawned)
                reported = True
                return
            instance = spawned
            async with trio.open_nursery() as nursery:
                if instance.process is not None:
                    nursery.start_soon(instance.watch_exit)
                failure = await self._serve(instance, request_id, task_status)
                if failure is not None:
                    task_status.started(failure)
                reported = True
                nursery.cancel_scope.cancel()
        finally:
            if instance is not None:
                with trio.CancelScope(shield=True):
                    instance.kill_group()
                    if instance.process is not None:
                        await instance.process.wait()
                instance.finished.set()
            if not reported and not (instance is not None and instance.ready):
                # Only reached on a bug or on cancellation of the whole service during init
                # (a ready instance has already been reported).
                task_status.started(InitFailure(FunctionError(message="service stopped"), "", None))

    async def _spawn(self, request_id: str) -> _Instance | InitFailure:
        if not self.command:
            assert self.port is not None
            return _Instance(process=None, port=self.port, started_at=trio.current_time())
        port = free_port()
        task_root = self.configuration.working_directory or os.getcwd()
        env = function_environment(
            self.configuration,
            port=port,
            handler=os.path.basename(self.command[0]),
            task_root=task_root,
            inherited=os.environ,
        )
        started_at = trio.current_time()
        try:
            process = await start_function_process(
                self.command, env=env, cwd=task_root, output=self.output
            )
        except OSError as exc:
            return InitFailure(
                errors.invalid_entrypoint(request_id, self.command[0], exc),
                f"could not start {self.command[0]}: {exc.strerror or exc}",
                None,
            )
        return _Instance(process=process, port=port, started_at=started_at)

    async def _serve(
        self,
        instance: _Instance,
        request_id: str,
        task_status: trio.TaskStatus[_Instance | InitFailure],
    ) -> InitFailure | None:
        """Dial and Ping, report the ready instance, and hold its connection until retired.

        Returns the failure if the instance never became ready, else None once it is retired.
        """
        init_timeout = self.configuration.init_timeout
        address = f"{_HOST}:{instance.port}"
        stage = f"nothing accepted a connection on {address}"
        broken: str | None = None
        with instance.cancelled_on_exit(
            trio.CancelScope(deadline=instance.started_at + init_timeout)
        ) as scope:
            stream = await dial_function(instance.port, host=_HOST)
            stage = f"the function accepted a connection on {address} but never answered Ping"
            async with open_client(stream, registry=self.registry, limits=_REPLY_LIMITS) as client:
                try:
                    await client.ping_until_answered()
                except trio.BrokenResourceError as exc:
                    broken = str(exc)
                else:
                    scope.deadline = math.inf
                    instance.client = client
                    instance.init_duration = self._elapsed(instance)
                    if self.measure_memory:
                        instance.sample_memory()
                    task_status.started(instance)
                    await instance.retired.wait()
        if instance.ready:
            return None  # it was ready; it ended because it was retired or its process exited
        if instance.exited.is_set() or (
            broken is not None and await instance.wait_for_exit(EXIT_GRACE)
        ):
            return self._exited_during_init(instance, request_id)
        if broken is not None:
            return InitFailure(
                errors.broken_connection(request_id, broken),
                f"the function broke the net/rpc conversation during Function.Ping ({broken})",
                self._elapsed(instance),
            )
        return InitFailure(
            errors.timed_out(request_id, init_timeout),
            f"{stage} within the init timeout of {init_timeout:.2f} s",
            self._elapsed(instance),
        )

    def _exited_during_init(self, instance: _Instance, request_id: str) -> InitFailure:
        returncode = instance.returncode
        assert returncode is not None
        return InitFailure(
            errors.exited(request_id, returncode),
            f"the function's process ended before answering Function.Ping "
            f"({errors.exit_description(returncode)})",
            self._elapsed(instance),
        )

    @staticmethod
    def _elapsed(instance: _Instance) -> float | None:
        return None if instance.process is None else trio.current_time() - instance.started_at


@asynccontextmanager
async def open_service(
    configuration: FunctionConfiguration,
    *,
    command: Sequence[str] = (),
    port: int | None = None,
    output: int | None = None,
    measure_memory: bool = True,
) -> AsyncIterator[FunctionService]:
    """A service for the function started by ``command``, or already listening on ``port``.

    ``output`` is the file descriptor the function's stdout and stderr go to (default: our
    stderr; ``subprocess.DEVNULL`` discards them). ``measure_memory``: read the process's peak
    memory after each invoke, for :attr:`InvokeOutcome.max_memory_kib` (a ``/proc`` read per
    invoke; a caller that reports no memory turns it off). Nothing is started until the first
    invoke. On exit the running instance's process group is killed and reaped.
    """
    if bool(command) == (port is not None):
        raise ValueError("give exactly one of command and port")
    raised: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            service = FunctionService(
                configuration=configuration,
                command=tuple(command),
                port=port,
                output=2 if output is None else output,
                nursery=nursery,
                measure_memory=measure_memory,
            )
            try:
                yield service
            finally:
                with trio.CancelScope(shield=True):
                    await service.aclose()
    except BaseExceptionGroup as group:
        # Instance tasks report their failures as values and never raise, so a group holds what
        # the caller's block raised: give that back as it was raised.
        if len(group.exceptions) != 1:
            raise
        raised = group.exceptions[0]
    if raised is not None:
        raise raised

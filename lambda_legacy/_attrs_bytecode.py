"""Bytecode for the methods attrs generates, compiled once instead of at every start.

Why. attrs writes the source of each class's ``__init__``, ``__repr__``, ``__eq__`` and
``__hash__`` when the class is created and compiles it with :func:`compile`; nothing caches the
result, as ``.pyc`` files cache a module's. Serving imports trio and this package, about a hundred
attrs classes, and that compiling is about a fifth of a bundle's start (tens of milliseconds, the
cold start Lambda bills).

A bundle's file also carries the readers and writers gobrpc generates for a function's first
calls (``Function.Ping``, ``Function.Invoke`` and their answers), compiled on first use
otherwise: 3-4.5 ms of a first Invoke here. :func:`record` gets them from a rehearsal of those
calls, and :func:`install` hands them to gobrpc (:mod:`gobrpc._generated`).

Where. A bundle records it when it is built (:func:`record`, run by the bundle's interpreter) and
only reads it (:func:`install`): ``/var/task`` is read-only. The ``lambda-legacy`` verbs and
:func:`lambda_legacy.start` outside a bundle keep it beside this package's pycs and write it the
first time they run, as Python writes pycs (:func:`learn`).

How. :func:`record` imports the serving modules with attrs' one compile step
(``attr._make._compile_and_eval``) wrapped, and keeps every ``(filename, script) -> code`` pair
it compiles; the bundle stores them in one :mod:`marshal` file. :func:`install`, run by the
bundle's entry before anything imports attrs classes, wraps the same step to take the code object
stored for exactly that filename and script text, and to compile as before for anything else.

One thing in a script changes from process to process: attrs salts a class's ``__hash__`` with
the ``hash()`` of a name, and string hashes change with ``PYTHONHASHSEED`` (random by default, as
it must stay: events carry untrusted dict keys). So scripts are stored with that salt, the one
integer on the line after ``hash((``, written as ``0``, and looked up the same way; the stored
code then gets this process's salt in place of the recorded one among its constants. That code
is what compiling the script gives, but for the end column of that one constant (no traceback
ever points at it).

A code object is a pure function of its source, its name and the interpreter (version and ``-O``
level, both in the file's header), so what runs is what attrs would have compiled: a handler's
own attrs classes, another attrs version, or another interpreter simply miss. If attrs ever drops
or reshapes that function, :func:`install` leaves attrs alone.
"""

from __future__ import annotations
import __future__

import contextlib
import importlib
import importlib.util
import marshal
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = [
    "FILE_NAME",
    "REHEARSALS",
    "hand_over_generated_code",
    "install",
    "learn",
    "package_cache",
    "record",
    "resalted",
]

#: The file a bundle keeps the bytecode in, in its runtime folder.
FILE_NAME = "attrs-methods.marshal"

#: attrs' parameters for the function wrapped: anything else is a version this module does not know.
_PARAMETERS = ("script", "globs", "locs", "filename")

#: attrs' ``__hash__`` salt: the integer alone on the line after ``hash((``.
_HASH_SALT = re.compile(r"hash\(\(\n[ \t]*(-?[0-9]+),\n")

#: (filename, script with its salt written as 0) -> (code, the salt it was compiled with).
_Table = dict[tuple[str, str], tuple[CodeType, int | None]]


def _unsalted(script: str) -> tuple[str, int | None]:
    """``script`` with its hash salt written as ``0``, and the salt (None: it has none)."""
    found = _HASH_SALT.findall(script)
    if len(found) != 1:
        return script, None
    match = _HASH_SALT.search(script)
    assert match is not None
    return script[: match.start(1)] + "0" + script[match.end(1) :], int(match[1])


def resalted(code: CodeType, old: int, new: int) -> CodeType:
    """``code`` with the integer constant ``old`` replaced by ``new``, in nested code and tuples
    too (a class with no hashed fields hashes the constant tuple ``(salt,)``)."""
    return code.replace(co_consts=tuple(_resalted_constant(c, old, new) for c in code.co_consts))


def _resalted_constant(constant: object, old: int, new: int) -> object:
    if type(constant) is int and constant == old:
        return new
    if isinstance(constant, CodeType):
        return resalted(constant, old, new)
    if type(constant) is tuple:
        return tuple(_resalted_constant(c, old, new) for c in constant)
    return constant


#: This file format's version, in the header: 2 since learned code carries attrs' future flags
#: (files from before then are learned again).
_FORMAT = 2


def _header() -> bytes:
    """What must match for stored code to be what this interpreter would compile."""
    return importlib.util.MAGIC_NUMBER + bytes([sys.flags.optimize, _FORMAT])


#: The name the file keeps gobrpc's generated readers and writers under, each by its source text
#: (attrs' methods are under the names attrs compiles them with).
_GOBRPC = "<gobrpc generated code>"

#: The calls a go1.x function's first conversation makes (``module:function``), run to record the
#: gob code they generate (see :func:`record` and :func:`learn`).
REHEARSALS = ("runtime._rpc_mode:rehearse_first_calls",)

#: gob code a file carried, kept until the serving mode has imported gobrpc (Runtime API mode
#: never does, and must not for this): see :func:`hand_over_generated_code`.
_PENDING: dict[str, CodeType] = {}

#: attrs' module with the compile step; the rest of the ``attr`` package makes its own classes
#: (validators, filters) as it loads, right after this module has run.
_MAKE = "attr._make"


def _known_step(make: Any) -> Any:
    """attrs' compile-and-eval function in ``make``, or None if it has not the shape we know."""
    step = getattr(make, "_compile_and_eval", None)
    code = getattr(step, "__code__", None)
    if code is None or code.co_varnames[: len(_PARAMETERS)] != _PARAMETERS:
        return None
    return step


class _ThenLoader:
    """``attr._make``'s own loader, and ``then(module)`` right after the module has run."""

    def __init__(self, loader: Any, then: Callable[[Any], None]) -> None:
        self.loader = loader
        self.then = then

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        module.__loader__ = module.__spec__.loader = self.loader  # as if never wrapped
        self.then(module)


class _FindMakeThen:
    """A meta path finder for ``attr._make`` alone, used once: the spec the other finders give,
    with a :class:`_ThenLoader`."""

    def __init__(self, then: Callable[[Any], None]) -> None:
        self.then = then

    def find_spec(self, name: str, path: object, target: object = None) -> Any:
        if name != _MAKE:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec: Any = None
        for finder in list(sys.meta_path):  # as the import system asks them, with its path
            find = getattr(finder, "find_spec", None)
            if find is not None and (spec := find(name, path, target)) is not None:
                break
        loader = getattr(spec, "loader", None)
        if hasattr(loader, "exec_module") and hasattr(loader, "create_module"):
            spec.loader = _ThenLoader(loader, self.then)
        return spec


def _with_compile_step(then: Callable[[Any, Any], None]) -> None:
    """Call ``then(attr._make, its compile step)`` if attrs has the shape we know.

    Where attrs is not imported yet, the call comes as soon as ``attr._make`` has run, before
    the rest of the package makes its own classes (14 of the 28 methods attrs compiles as it
    loads; 3-5 ms of compiling here).
    """

    def found(make: Any) -> None:
        step = _known_step(make)
        if step is not None:
            then(make, step)

    if _MAKE in sys.modules:
        found(sys.modules[_MAKE])
        return
    finder = _FindMakeThen(found)
    sys.meta_path.insert(0, finder)
    try:
        importlib.import_module(_MAKE)
    except ImportError:
        pass
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)


def _future_flags(module: Any) -> int:
    """The ``from __future__`` flags ``module`` was compiled with (a ``compile`` called from its
    code inherits them)."""
    flags = 0
    for name in __future__.all_feature_names:
        feature = getattr(__future__, name)
        if vars(module).get(name) is feature:
            flags |= feature.compiler_flag
    return flags


class _CompileStep:
    """attrs' compile-and-eval step, taking code from ``table`` where a script has an entry.

    While ``learning``, a script without one is compiled here and kept, with every entry used,
    in :attr:`kept`; otherwise attrs' own step compiles it.
    """

    def __init__(self, table: _Table, original: Any, *, learning: bool, flags: int = 0) -> None:
        self.table = table
        self.original = original
        self.learning = learning
        #: The ``from __future__`` flags of attrs' module, which its own ``compile`` inherits.
        self.flags = flags
        self.kept: _Table = {}
        self.learned = 0
        #: Every filename attrs compiled for, used or learned: a class this process made.
        self.asked: set[str] = set()

    def __call__(
        self,
        script: str,
        globs: dict[str, Any] | None,
        locs: Mapping[str, object] | None = None,
        filename: str = "",
    ) -> None:
        unsalted, salt = _unsalted(script)
        key = (filename, unsalted)
        self.asked.add(filename)
        # Each class compiles once: its entry is not needed again.
        stored = self.table.pop(key, None)
        if stored is not None and (stored[1] is None) == (salt is None):
            code, recorded_salt = stored
            if self.learning:
                self.kept[key] = stored
            if salt is not None and recorded_salt is not None and salt != recorded_salt:
                code = resalted(code, recorded_salt, salt)
        elif self.learning:
            # With attrs' module's future flags, not this module's: the code attrs compiles.
            code = compile(script, filename, "exec", flags=self.flags, dont_inherit=True)
            self.kept[key] = (code, salt)
            self.learned += 1
        else:
            self.original(script, globs, locs, filename)
            return
        eval(code, globs, locs)  # noqa: S307 - the code attrs generated, as attrs evaluates it

    def dump(self, extra: _Table | None = None) -> bytes:
        """The file's bytes: everything kept, and the entries of the file loaded for classes this
        process never made (another mode's, another run's), so that two ways of running one verb
        do not each undo the other's file. An entry of a class made here with another script
        is stale, and goes."""
        others = {key: code for key, code in self.table.items() if key[0] not in self.asked}
        return _header() + marshal.dumps({**others, **self.kept, **(extra or {})})


def _load(path: Path) -> _Table | None:
    """The table stored at ``path``, or None if it is missing, unreadable or not this
    interpreter's."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header = _header()
    if not data.startswith(header):
        return None
    try:
        table = marshal.loads(data[len(header) :])  # noqa: S302 - our own file, like a pyc
    except (EOFError, ValueError, TypeError, SystemError):  # SystemError: some damaged bytes
        return None
    return table if _is_table(table) else None


def _is_table(table: object) -> bool:
    """Whether ``table`` has the shape this module writes (a damaged file may not)."""
    return isinstance(table, dict) and all(
        isinstance(key, tuple)
        and len(key) == 2
        and all(isinstance(part, str) for part in key)
        and isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], CodeType)
        and (value[1] is None or isinstance(value[1], int))
        for key, value in table.items()
    )


def _wrap(table: _Table, *, learning: bool) -> _CompileStep | None:
    """Put a step in attrs' place; None (attrs untouched) if attrs is not the shape we know."""
    steps: list[_CompileStep] = []

    def put_in_place(make: Any, original: Any) -> None:
        step = _CompileStep(table, original, learning=learning, flags=_future_flags(make))
        make._compile_and_eval = step
        steps.append(step)

    _with_compile_step(put_in_place)
    return steps[0] if steps else None


def install(path: Path) -> int:
    """Serve attrs' compiles from the bytecode stored at ``path``; how many entries it holds.

    Returns 0, changing nothing, when the file is missing or unreadable, was made by another
    interpreter or ``-O`` level, or attrs is not the shape this module knows.
    """
    table = _load(path)
    entries = len(table) if table else 0  # before attrs' own classes take theirs out of it
    if not table or _wrap(table, learning=False) is None:
        return 0
    _PENDING.update(_generated_in(table))
    return entries


def _gob_key(mark: str) -> str:
    """The name gob code made by the generator ``mark`` is kept under ("": a bundle's, made
    with the very files it carries)."""
    return f"{_GOBRPC} {mark}" if mark else _GOBRPC


def _generated_in(table: _Table, mark: str = "") -> dict[str, CodeType]:
    """The gob code ``table`` carries from the generator ``mark``, by source text."""
    name = _gob_key(mark)
    return {key[1]: code for key, (code, _) in table.items() if key[0] == name}


def _generator_mark() -> str | None:
    """Which gobrpc generated the code: the size and time of its reader and writer modules, which
    an upgrade or an edit changes; None if gobrpc is not imported."""
    parts = []
    for name in ("gobrpc._readers", "gobrpc._writers"):
        path = getattr(sys.modules.get(name), "__file__", None)
        if path is None:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        parts.append(f"{stat.st_size}.{stat.st_mtime_ns}")
    return "-".join(parts)


def hand_over_generated_code() -> None:
    """Give gobrpc the code of its readers and writers that the file carried, once the serving
    mode has imported gobrpc (called when its modules are imported, before it serves)."""
    gobrpc = sys.modules.get("gobrpc")
    if gobrpc is not None and _PENDING:
        gobrpc.add_generated_code(_PENDING)
        _PENDING.clear()


def _rehearsed(rehearsals: Iterable[str], mark: str = "") -> _Table:
    """Call each ``module:function`` and return the gob code generated meanwhile, as entries of
    the generator ``mark``."""
    from gobrpc import recording_generated_code  # noqa: PLC0415 - the rehearsals import it anyway

    with recording_generated_code() as table:
        for rehearsal in rehearsals:
            module, _, function = rehearsal.partition(":")
            getattr(importlib.import_module(module), function)()
    return {(_gob_key(mark), text): (code, None) for text, code in table.items()}


def record(modules: Iterable[str]) -> bytes:
    """Import ``modules`` and return the bytecode of every attrs method compiled meanwhile.

    An entry ``module:function`` also calls ``function`` once ``module`` is imported, and the
    readers and writers gobrpc generates during that call are kept too, for
    :func:`gobrpc.add_generated_code` at :func:`install`.

    Run it in a fresh interpreter of the bundle's kind (same version, same ``-O`` level, the
    bundle's packages), before anything else creates attrs classes, with ``PYTHONHASHSEED`` fixed
    so that the bytes are the same on every build.
    """
    step = _wrap({}, learning=True)
    if step is None:
        return b""
    make: Any = sys.modules[_MAKE]
    try:
        for module in modules:
            importlib.import_module(module.partition(":")[0])
        generated = _rehearsed(module for module in modules if ":" in module)
    finally:
        make._compile_and_eval = step.original
    return step.dump(generated)


def package_cache(verb: str = "serve") -> Path:
    """Where a CLI verb outside a bundle keeps the bytecode: beside this package's own pycs, one
    file per verb (each saves only what it uses, so two verbs sharing one would undo each other).
    """
    tag = sys.implementation.cache_tag
    return Path(__file__).parent / "__pycache__" / f"attrs-methods.{verb}.{tag}.marshal"


def learn(path: Path, rehearsals: Iterable[str] = ()) -> Callable[[], None]:
    """Serve attrs' compiles from ``path`` as :func:`install` does, and learn the misses; returns
    the function that ends learning and, if anything was learned, saves the bytecode there.
    That function also hands the file's gob code over (:func:`hand_over_generated_code`) once
    the serving mode has imported gobrpc; if the file has none from this gobrpc, the RPC mode is
    serving and the file can be written, it runs ``rehearsals`` (``module:function``) and saves
    the gob code they generate, once.

    Saving is what Python does with pycs: skipped under ``-B`` / ``PYTHONDONTWRITEBYTECODE``,
    atomic (a temporary file renamed into place), and silent where the folder is not writable.
    What was used or learned is saved with the file's entries for classes this process never
    made (see :meth:`_CompileStep.dump`); an entry for a class made here with another script
    is stale and dropped.
    """
    table = _load(path) or {}
    step = _wrap(table, learning=True)

    def save() -> None:
        if step is None or not step.learning:
            return
        step.learning = False  # the handler's own classes are not ours to keep
        generated = _gob_code_for_this_run(table, rehearsals, path)
        if not (step.learned or generated) or sys.dont_write_bytecode:
            return
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(exist_ok=True)
            temporary.write_bytes(step.dump(generated))
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()

    return save


def _gob_code_for_this_run(table: _Table, rehearsals: Iterable[str], path: Path) -> _Table:
    """Hand gobrpc the code ``table`` has from this gobrpc, or, where it has none, the RPC mode
    is serving and ``path`` can be saved, rehearse the first calls for it: the entries to save.

    Code from another gobrpc (an upgrade, an edit) is dropped from ``table``, and never handed
    over. Runtime API mode never imports the RPC mode's modules, and nothing here imports them.
    """
    mark = _generator_mark()
    if mark is None:  # gobrpc not imported: nothing to hand over, nor any use for it
        return {}
    for key in [key for key in table if key[0].startswith(_GOBRPC)]:
        if key[0] != _gob_key(mark):
            del table[key]
    known = _generated_in(table, mark)
    generated: _Table = {}
    if not known and rehearsals and "runtime._rpc_mode" in sys.modules and _can_save(path):
        try:
            generated = _rehearsed(rehearsals, mark)
        except Exception:  # a cache not made is the whole of the loss
            generated = {}
    # What was rehearsed goes over too: this run's first calls need not compile it again.
    _PENDING.update(known or _generated_in(generated, mark))
    hand_over_generated_code()
    return generated


def _can_save(path: Path) -> bool:
    """Whether :func:`learn`'s save could write ``path`` (as Python writes pycs, or not at all)."""
    if sys.dont_write_bytecode:
        return False
    folder = path.parent if path.parent.exists() else path.parent.parent
    return os.access(folder, os.W_OK)


def main(argv: list[str]) -> int:
    """``python -m lambda_legacy._attrs_bytecode OUT MODULE[:FUNCTION]...``: record into the file
    OUT (see :func:`record`)."""
    out, *modules = argv
    data = record(modules)
    if not data:
        print("attrs has no compile step this module knows: nothing recorded", file=sys.stderr)
        return 1
    Path(out).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

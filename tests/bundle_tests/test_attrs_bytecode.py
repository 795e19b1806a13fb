"""The attrs bytecode a bundle carries (and ``serve`` keeps beside its pycs): recorded once, and
what attrs itself would compile.

The claim checked in a fresh interpreter with another hash seed than the recording's: with the
bytecode installed, importing the serving modules compiles nothing, and every method attrs makes
is, constant for constant and line for line, what compiling its script there gives.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path
from types import CodeType
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

import lambda_legacy
from lambda_legacy._attrs_bytecode import (
    _GOBRPC,
    _FindMakeThen,
    _header,
    _load,
    _ThenLoader,
    _unsalted,
    install,
    learn,
    package_cache,
    resalted,
)
from lambda_legacy._bundle_main import ATTRS_BYTECODE, REHEARSALS, SERVING_MODULES

#: Run in a child: install the bytecode (unless told not to), count the compiles attrs still
#: makes, and compare every method it defines with a fresh compile of its script.
_CHILD = """
import json, sys, types
from pathlib import Path
import attr._make as make
from lambda_legacy._attrs_bytecode import install

path, use, *modules = sys.argv[1:]
original = make._compile_and_eval
entries = install(Path(path)) if use == "yes" else 0
installed = make._compile_and_eval
compiled, checked, different = [], [0], []
# attrs' own step, counted where it compiles a script: its compile stays attrs' own, called from
# attrs' module (whose future flags a compile there inherits), so the fresh code is attrs' own.
def counting_original(script, globs, locs=None, filename=""):
    compiled.append(filename)
    return original(script, globs, locs, filename)
if installed is original:
    installed = counting_original  # nothing installed: attrs compiles every script
else:
    installed.original = counting_original  # where the step sends a script it has no code for

def same(a, b):
    keys = ("co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars", "co_argcount",
            "co_kwonlyargcount", "co_flags", "co_name", "co_qualname", "co_filename",
            "co_firstlineno")
    if any(getattr(a, k) != getattr(b, k) for k in keys):
        return False
    if list(a.co_lines()) != list(b.co_lines()):
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    return all(same(x, y) if hasattr(x, "co_code") else (type(x), x) == (type(y), y)
               for x, y in zip(a.co_consts, b.co_consts))

def checking(script, globs, locs=None, filename=""):
    installed(script, globs, locs, filename)
    made = globs if locs is None else locs
    fresh_globs, fresh_locs = dict(globs or {}), None if locs is None else {}
    original(script, fresh_globs, fresh_locs, filename)  # what attrs alone makes of it
    fresh = fresh_globs if fresh_locs is None else fresh_locs
    for name, function in fresh.items():
        if isinstance(function, types.FunctionType) and function.__code__.co_filename == filename:
            checked[0] += 1
            if not same(made[name].__code__, function.__code__):
                different.append(f"{filename} {name}")
make._compile_and_eval = checking
for module in modules:
    __import__(module)
print(json.dumps({"entries": entries, "compiled": compiled, "checked": checked[0],
                  "different": different}))
"""


def _child(path: Path, use: bool, seed: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    command = [sys.executable, "-c", _CHILD, str(path), "yes" if use else "no", *SERVING_MODULES]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def _record(path: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [sys.executable, "-m", "lambda_legacy._attrs_bytecode", str(path)]
    subprocess.run([*command, *SERVING_MODULES, *REHEARSALS], env=env, check=True, timeout=60)


def test_installed_bytecode_is_what_attrs_compiles_and_compiles_nothing(tmp_path: Path) -> None:
    recorded = tmp_path / "attrs.marshal"
    _record(recorded)
    again = tmp_path / "again.marshal"
    _record(again)
    assert recorded.read_bytes() == again.read_bytes()  # a bundle's bytes are reproducible

    used = _child(recorded, use=True, seed="12345")  # not the recording's seed: salts differ
    assert isinstance(used["entries"], int)
    assert used["entries"] >= 50
    assert used["compiled"] == []
    assert used["different"] == []
    assert isinstance(used["checked"], int)
    assert used["checked"] >= 100

    control = _child(recorded, use=False, seed="12345")
    assert control["compiled"]  # without it, attrs compiles: the counter above can see that
    assert control["different"] == []


def test_install_ignores_files_it_cannot_use(tmp_path: Path) -> None:
    assert install(tmp_path / "missing") == 0
    other = tmp_path / "other-python"
    other.write_bytes(b"\x00\x00\r\n\x00" + b"{}")  # another interpreter's magic number
    assert install(other) == 0
    garbage = tmp_path / "garbage"
    recorded = tmp_path / "attrs.marshal"
    _record(recorded)
    garbage.write_bytes(recorded.read_bytes()[:40])  # cut short
    assert install(garbage) == 0


_HASH_SCRIPT = """def __hash__(self):
        return hash((
                {salt},
{fields}            ))
"""


def _hash_code(salt: int, fields: int) -> tuple[str, CodeType]:
    lines = "".join(f"                self.f{i},\n" for i in range(fields))
    script = _HASH_SCRIPT.format(salt=salt, fields=lines)
    return script, compile(script, "<attrs generated methods x.Y>", "exec")


def _constants(code: CodeType) -> list[object]:
    out: list[object] = []
    for constant in code.co_consts:
        out.extend(_constants(constant) if isinstance(constant, CodeType) else [constant])
    return out


salts = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(salts, salts, st.integers(min_value=0, max_value=3))
def test_resalted_code_has_the_other_salt(old: int, new: int, fields: int) -> None:
    old_script, old_code = _hash_code(old, fields)
    new_script, new_code = _hash_code(new, fields)
    assert _unsalted(old_script) == (_unsalted(new_script)[0], old)
    assert _unsalted(new_script)[1] == new
    moved = resalted(old_code, old, new)
    # With no fields, (salt,) is one constant tuple: the salt is replaced inside it too.
    assert _constants(moved) == _constants(new_code)
    assert moved.co_consts[0].co_code == new_code.co_consts[0].co_code


def test_a_script_without_exactly_one_salt_is_kept_whole() -> None:
    plain = "def __init__(self, x):\n    self.x = x\n"
    assert _unsalted(plain) == (plain, None)
    twice = _HASH_SCRIPT.format(salt=1, fields="") * 2
    assert _unsalted(twice) == (twice, None)


def test_the_bundle_carries_bytecode_its_interpreter_uses(extracted: Path) -> None:
    runtime = extracted / "lambda-legacy"
    (loader,) = (runtime / "lib").glob("ld-linux*")
    (python,) = (runtime / "bin").glob("python3.*")
    command = [str(loader), "--library-path", str(runtime / "lib"), str(python), "-s", "-c"]
    command += [_CHILD, str(extracted / ATTRS_BYTECODE), "yes", *SERVING_MODULES]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60, cwd="/")
    result = json.loads(out.stdout)
    assert result["compiled"] == []
    assert result["different"] == []
    assert result["checked"] >= 100


#: Run in a child: learn with the file given, import the serving modules, save, then make a class
#: of "the handler's" after saving; report what attrs still compiled itself.
_LEARNING_CHILD = """
import json, sys
from pathlib import Path
import attr._make as make
from lambda_legacy._attrs_bytecode import learn

save = learn(Path(sys.argv[1]))
compiled = []
real_compile = compile
def counting_compile(source, filename, mode, *args, **kwargs):
    compiled.append(filename)
    return real_compile(source, filename, mode, *args, **kwargs)
make.compile = counting_compile
for module in sys.argv[2:]:
    __import__(module)
save()
import attrs

@attrs.frozen
class HandlersOwn:
    x: int

print(json.dumps({"compiled": compiled}))
"""


def _learning_child(path: Path, *, write_bytecode: bool = True) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [sys.executable, "-c", _LEARNING_CHILD, str(path), *SERVING_MODULES]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60)
    compiled: list[str] = json.loads(out.stdout)["compiled"]
    return compiled


def test_serve_learns_the_bytecode_once_then_compiles_nothing(tmp_path: Path) -> None:
    path = tmp_path / "__pycache__" / "attrs-methods.marshal"
    first = _learning_child(path)
    assert path.is_file()
    saved = path.read_bytes()
    second = _learning_child(path)
    assert path.read_bytes() == saved  # nothing new learned: not rewritten
    # The first start compiled everything here (not through attrs); the second took it all
    # from the file. Only the class made after saving, the handler's own, was compiled by attrs.
    handlers_own = ["<attrs generated methods __main__.HandlersOwn>"]
    assert first == handlers_own
    assert second == handlers_own
    table = _load(path)
    assert table is not None
    assert len(table) >= 50
    assert not any("HandlersOwn" in filename for filename, _ in table)


def test_serve_writes_no_bytecode_under_dont_write_bytecode(tmp_path: Path) -> None:
    path = tmp_path / "attrs-methods.marshal"
    _learning_child(path, write_bytecode=False)
    assert not path.exists()


def test_serve_starts_where_the_bytecode_cannot_be_saved(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("", encoding="utf-8")
    path = not_a_folder / "attrs-methods.marshal"
    assert _learning_child(path) == ["<attrs generated methods __main__.HandlersOwn>"]
    assert not path.exists()


def test_each_verb_keeps_its_own_file_beside_the_packages_pycs() -> None:
    serve, invoke = package_cache("serve"), package_cache("invoke")
    assert serve != invoke
    assert serve.parent == invoke.parent == Path(lambda_legacy.__file__).parent / "__pycache__"
    assert sys.implementation.cache_tag in serve.name


#: Run in a child: the ``lambda-legacy`` command, with the bytecode kept at the path given.
_CLI_CHILD = """
import sys
from pathlib import Path
import lambda_legacy.cli as cli
cli.package_cache = lambda verb="serve": Path(sys.argv[1])
sys.exit(cli.main(sys.argv[2:]))
"""

#: A handler module that makes an attrs class of its own when imported.
_HANDLER_MODULE = """
import attrs

@attrs.frozen
class HandlersOwn:
    x: int

def handler(event, context):
    return event
"""


def _serve_until_it_stops(path: Path, task_root: Path, **mode: str) -> None:
    """``lambda-legacy serve`` in one mode, set to stop right after importing everything: RPC
    mode with a port Go's listen refuses, or a Runtime API nobody listens on."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for name in ("_LAMBDA_SERVER_PORT", "AWS_LAMBDA_RUNTIME_API"):
        env.pop(name, None)
    env |= {"LAMBDA_TASK_ROOT": str(task_root), **mode}
    command = [sys.executable, "-c", _CLI_CHILD, str(path), "serve", "handler_module.handler"]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr


def _modules_in(path: Path) -> set[str]:
    """The modules whose classes have an entry in the file (``<attrs generated ... mod.Class>``)."""
    table = _load(path)
    assert table is not None
    return {filename.rstrip(">").split()[-1].rsplit(".", 1)[0] for filename, _ in table}


def test_serve_saves_each_mode_s_classes_and_never_the_handler_s(tmp_path: Path) -> None:
    (tmp_path / "handler_module.py").write_text(_HANDLER_MODULE, encoding="utf-8")
    path = tmp_path / "cache" / "attrs-methods.marshal"

    _serve_until_it_stops(path, tmp_path, _LAMBDA_SERVER_PORT="99999")
    rpc = _modules_in(path)
    assert {"gobrpc._types", "runtime._server", "runtime._messages", "trio._core._run"} <= rpc

    _serve_until_it_stops(path, tmp_path, AWS_LAMBDA_RUNTIME_API="127.0.0.1:1")
    both = _modules_in(path)
    assert "runtime._runtime_api_http" in both
    assert rpc <= both  # the other mode's entries stay

    assert not any("handler_module" in module for module in both)


def test_a_saved_file_drops_a_class_s_old_script_and_keeps_classes_not_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)

    def entry(script: str, filename: str) -> tuple[tuple[str, str], tuple[CodeType, None]]:
        return (filename, script), (compile(script, filename, "exec"), None)

    path = tmp_path / "attrs-methods.marshal"
    old = dict([entry("x = 1\n", "<made here>"), entry("y = 2\n", "<not made here>")])
    path.write_bytes(_header() + marshal.dumps(old))
    make = importlib.import_module("attr._make")
    # attrs' own step, whatever an in-process run of the CLI put in its place before this test.
    step = make._compile_and_eval
    monkeypatch.setattr(make, "_compile_and_eval", getattr(step, "original", step))
    save = learn(path)
    try:
        make._compile_and_eval("x = 3\n", {}, None, "<made here>")  # the class changed
    finally:
        save()
    assert set(_load(path) or {}) == {("<made here>", "x = 3\n"), ("<not made here>", "y = 2\n")}


#: Run in a child: ``lambda_legacy.start`` with the bytecode kept at the path given; then a class
#: the script makes after ``start`` returned (it raises when no mode variable is set).
_START_CHILD = """
import sys
from pathlib import Path
import attrs
import lambda_legacy
import lambda_legacy._attrs_bytecode as bytecode
bytecode.package_cache = lambda verb="serve": Path(sys.argv[1])
def handler(event, context):
    return event
try:
    lambda_legacy.start(handler)
except lambda_legacy.LambdaEnvironmentError:
    @attrs.frozen
    class ScriptsOwn:
        x: int
    sys.exit(3)
"""


def _start(path: Path, **mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for name in ("_LAMBDA_SERVER_PORT", "AWS_LAMBDA_RUNTIME_API"):
        env.pop(name, None)
    command = [sys.executable, "-c", _START_CHILD, str(path)]
    done = subprocess.run(
        command, check=False, env=env | mode, capture_output=True, text=True, timeout=60
    )
    return done.returncode


def test_start_saves_the_serving_classes_and_never_the_script_s(tmp_path: Path) -> None:
    path = tmp_path / "attrs-methods.marshal"
    assert _start(path, _LAMBDA_SERVER_PORT="99999") == 1  # a port Go's listen refuses
    assert {"gobrpc._types", "runtime._server"} <= _modules_in(path)

    other = tmp_path / "other.marshal"
    assert _start(other) == 3  # nothing served: what was learned is saved, and learning ends
    assert "runtime._entry" in _modules_in(other)
    assert "__main__" not in _modules_in(other) | _modules_in(path)  # where ScriptsOwn lives


#: Run in a child before anything imports attrs: learn (first argument "learn") or install the
#: file, import the serving modules, and report which modules' classes attrs still compiled.
_ATTRS_OWN_CHILD = """
import builtins, json, sys
from pathlib import Path
from lambda_legacy._attrs_bytecode import install, learn

compiled = set()
real_compile = builtins.compile
def counting_compile(source, filename, mode, *args, **kwargs):
    if str(filename).startswith("<attrs generated"):
        compiled.add(str(filename).split()[-1].rstrip(">").rsplit(".", 1)[0])
    return real_compile(source, filename, mode, *args, **kwargs)
builtins.compile = counting_compile
how, path, *modules = sys.argv[1:]
save = learn(Path(path)) if how == "learn" else None
if how == "install":
    install(Path(path))
for module in modules:
    __import__(module)
if save is not None:
    save()
make = sys.modules["attr._make"]
print(json.dumps({
    "compiled": sorted(compiled),
    "loader": type(make.__loader__).__name__,
    "spec_loader": type(make.__spec__.loader).__name__,
    "finders": [type(finder).__name__ for finder in sys.meta_path],
}))
"""


@pytest.mark.parametrize("how", ["learn", "install"])
def test_attrs_own_classes_come_from_the_file_when_attrs_loads_after(
    tmp_path: Path, how: str
) -> None:
    """The classes attrs makes as its package loads (validators, filters) are served too, but
    for those ``attr._make`` makes while it runs, before anything can step in."""
    path = tmp_path / "attrs-methods.marshal"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def child(step: str) -> dict[str, object]:
        command = [sys.executable, "-c", _ATTRS_OWN_CHILD, step, str(path), *SERVING_MODULES]
        out = subprocess.run(
            command, env=env, capture_output=True, text=True, check=True, timeout=60
        )
        seen: dict[str, object] = json.loads(out.stdout)
        return seen

    child("learn")
    seen = child(how)
    assert seen["compiled"] == ["attr._make"]
    # The module is left as the import system made it, and the finder is gone.
    assert seen["loader"] == seen["spec_loader"] == "SourceFileLoader"
    finders = seen["finders"]
    assert isinstance(finders, list)
    assert "_FindMakeThen" not in finders


def test_the_finder_asks_the_other_finders_with_the_import_systems_path(tmp_path: Path) -> None:
    """It must not import ``attr`` again from inside the import system (a thread importing attrs
    at the same time would wait on it forever), nor find attrs anywhere but where it is asked."""
    (tmp_path / "_make.py").write_text("", encoding="utf-8")
    finder = _FindMakeThen(lambda module: None)
    sys.meta_path.insert(0, finder)
    try:
        spec = finder.find_spec("attr._make", [str(tmp_path)], None)
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)
    assert spec is not None
    assert spec.origin == str(tmp_path / "_make.py")
    assert isinstance(spec.loader, _ThenLoader)
    assert finder not in sys.meta_path  # used once


#: Run in a child: install the file (unless told not to), rehearse a function's first calls, and
#: report the gob readers and writers compiled meanwhile.
_FIRST_CALLS_CHILD = """
import builtins, json, sys
from pathlib import Path
from lambda_legacy._attrs_bytecode import REHEARSALS, hand_over_generated_code, install, learn

how, path = sys.argv[1:]
save = None
if how == "install":
    install(Path(path))
    assert "gobrpc" not in sys.modules  # Runtime API mode never imports it
elif how == "learn":
    save = learn(Path(path), REHEARSALS)
compiled = {"save": [], "calls": []}
stage = ["save"]
real_compile = builtins.compile
def counting_compile(source, filename, *args, **kwargs):
    if str(filename).startswith("<gobrpc"):
        compiled[stage[0]].append(str(filename))
    return real_compile(source, filename, *args, **kwargs)
builtins.compile = counting_compile
if how == "api-mode":  # a user's script imported gobrpc, then serves the Runtime API
    save = learn(Path(path), REHEARSALS)
    import gobrpc
    save()
    print(json.dumps({m: m in sys.modules for m in ("trio", "runtime._rpc_mode")}))
    sys.exit()
import runtime._rpc_mode
if save is not None:
    save()  # as serve calls it once its mode's modules are imported
hand_over_generated_code()  # as a bundle's serve does then
stage[0] = "calls"
runtime._rpc_mode.rehearse_first_calls()
print(json.dumps(compiled))
"""


def test_a_bundles_first_calls_compile_no_gob_code(tmp_path: Path) -> None:
    """The file carries the readers and writers of Ping, Invoke and their answers."""
    recorded = tmp_path / "attrs.marshal"
    _record(recorded)
    table = _load(recorded)
    assert table is not None
    names = sorted(code.co_filename for (where, _), (code, _) in table.items() if where == _GOBRPC)
    assert any("reader for messages.InvokeRequest" in name for name in names), names
    assert any("writer for messages.InvokeResponse_Error" in name for name in names), names

    assert _first_calls_child("install", recorded)["calls"] == []
    # Without the file, each is compiled at first use.
    assert len(_first_calls_child("none", recorded)["calls"]) == len(names)


def _first_calls_child(how: str, path: Path, **env: str) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-c", _FIRST_CALLS_CHILD, how, str(path)]
    environment.update(env)
    out = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    compiled: dict[str, Any] = json.loads(out.stdout)
    return compiled


def _gob_entries(path: Path) -> list[str]:
    table = _load(path)
    assert table is not None
    return [where for where, _ in table if where.startswith(_GOBRPC)]


def test_serve_learns_the_gob_code_of_the_first_calls_once(tmp_path: Path) -> None:
    path = tmp_path / "attrs-methods.marshal"
    first = _first_calls_child("learn", path)  # learns attrs' methods, rehearses the first calls
    assert first["save"]  # the rehearsal compiled them, once
    assert first["calls"] == []  # and handed them over at once
    assert _gob_entries(path)
    assert _first_calls_child("learn", path) == {"save": [], "calls": []}


def test_code_from_another_gobrpc_is_dropped_and_learned_again(tmp_path: Path) -> None:
    path = tmp_path / "attrs-methods.marshal"
    _first_calls_child("learn", path)
    table = _load(path)
    assert table is not None
    stale = {(f"{_GOBRPC} 1.2-3.4", text): entry for (_, text), entry in table.items()}
    path.write_bytes(_header() + marshal.dumps(stale))  # every entry from an older gobrpc
    again = _first_calls_child("learn", path)
    assert again["save"]  # rehearsed anew: the old code is not this gobrpc's
    assert again["calls"] == []
    assert f"{_GOBRPC} 1.2-3.4" not in _gob_entries(path)


def test_nothing_is_rehearsed_where_nothing_can_be_saved(tmp_path: Path) -> None:
    """A rehearsal costs 8-15 ms: not at every start of a process that cannot keep its result."""
    path = tmp_path / "attrs-methods.marshal"
    seen = _first_calls_child("learn", path, PYTHONDONTWRITEBYTECODE="1")
    assert seen["save"] == []
    assert not path.exists()


def test_runtime_api_mode_rehearses_nothing_even_with_gobrpc_imported(tmp_path: Path) -> None:
    seen = _first_calls_child("api-mode", tmp_path / "attrs-methods.marshal")
    assert seen == {"trio": False, "runtime._rpc_mode": False}


@pytest.mark.parametrize(
    "table",
    [{"x": 1}, {("f", "s"): 1}, {("f", 2): (compile("", "<x>", "exec"), None)}, [1]],
)
def test_a_file_of_another_shape_is_not_used(tmp_path: Path, table: object) -> None:
    """A damaged file with the right header is ignored, as one with a wrong header is."""
    path = tmp_path / "attrs-methods.marshal"
    path.write_bytes(_header() + marshal.dumps(cast(Any, table)))
    assert _load(path) is None  # so install() and learn() start as without a file

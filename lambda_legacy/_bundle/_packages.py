"""What goes into the bundle's site-packages: lambda-legacy, its dependencies, the requirements.

lambda-legacy and its dependencies are copied from the environment running the build (no
download, and the versions the build was tested with): every distribution reachable from
``lambda-legacy``'s ``Requires-Dist`` whose markers hold for this interpreter, each as its
importable top-level packages plus a minimal ``METADATA`` (name, version, requirements: enough
for ``importlib.metadata``). Their test suites stay behind (:data:`LEFT_OUT_DIRS`).

The user's requirements are installed by pip (``pip install --target``), constrained to the exact
versions of what lambda-legacy runs with, so a conflict is pip's clear error at build time rather
than a broken import on Lambda. A distribution both sides need is kept once.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

import attrs
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ._errors import BundleError

__all__ = [
    "LEFT_OUT_DIRS",
    "SERVICE_SIDE_MODULES",
    "Distribution",
    "copy_runtime",
    "install_requirements",
    "runtime_dists",
]

#: The distribution whose dependency tree is the runtime.
ROOT_DIST: Final = "lambda-legacy"

#: Folders inside lambda-legacy's dependencies that a function never imports (their test suites).
LEFT_OUT_DIRS: Final = frozenset({"_tests", "tests", "__pycache__"})

#: The bundle builder itself (this package): a bundle never builds bundles.
BUILDER_PACKAGE: Final = ("lambda_legacy", "_bundle")

#: lambda-legacy's service side and its CLI, by package: a function is invoked, it never
#: invokes, replays, bridges or bundles. The launcher runs ``lambda_legacy._bundle_main``, which
#: imports none of these (the bundle tests start it without them); leaving them out pays for the
#: attrs bytecode. In ``runtime``: the go1.x client (the service side's) and the Runtime API
#: client on trio (the bridge's; Runtime API mode has its blocking one). In ``gobrpc``: the
#: ``python -m gobrpc dump`` command (``gobrpc._dump`` stays: the package exports it).
_CLI_AND_SERVICE: Final = (
    "__main__", "cli", "client", "_bridge", "_cli_args", "_cmd_bridge", "_cmd_bundle",
    "_cmd_invoke", "_cmd_replay", "_function_process", "_invocation", "_replay", "_service",
    "_service_errors", "_sync_client",
)  # fmt: skip
SERVICE_SIDE_MODULES: Final = {
    "lambda_legacy": frozenset(f"{name}.py" for name in _CLI_AND_SERVICE),
    "runtime": frozenset({"_client.py", "_runtime_api_client.py"}),
    "gobrpc": frozenset({"__main__.py"}),
}

#: pip's ``--target`` also writes console scripts whose ``#!`` names this machine's Python.
_PIP_SCRIPTS_DIR: Final = "bin"

#: pip downloads; a slow index is the user's to wait for, but not forever.
_PIP_TIMEOUT_S: Final = 1800.0


@attrs.frozen(kw_only=True)
class Distribution:
    """One installed distribution the runtime needs."""

    name: str
    version: str
    top_level: tuple[str, ...]
    metadata: str


def _top_level(dist: importlib.metadata.Distribution) -> tuple[str, ...]:
    listed = dist.read_text("top_level.txt")
    if listed:
        return tuple(sorted({n.strip() for n in listed.split() if n.strip()}))
    names: set[str] = set()
    for file in dist.files or ():
        first = file.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".pth")) or first in ("..", "__pycache__"):
            continue
        names.add(first.split(".")[0] if len(file.parts) == 1 else first)
    return tuple(sorted(n for n in names if n.isidentifier()))


def _minimal_metadata(dist: importlib.metadata.Distribution) -> str:
    """Name, version and requirements: all ``importlib.metadata`` needs, and no build paths."""
    lines = ["Metadata-Version: 2.1", f"Name: {dist.metadata['Name']}", f"Version: {dist.version}"]
    lines += [f"Requires-Dist: {r}" for r in dist.requires or ()]
    return "\n".join(lines) + "\n"


def runtime_dists() -> list[Distribution]:
    """lambda-legacy and everything it needs on this interpreter, sorted by name.

    Raises:
        BundleError: lambda-legacy or one of its dependencies is not installed here.
    """
    found: dict[str, Distribution] = {}
    pending = [ROOT_DIST]
    while pending:
        name = canonicalize_name(pending.pop())
        if name in found:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise BundleError(f"{name} is needed by lambda-legacy but not installed") from None
        found[name] = Distribution(
            name=name,
            version=dist.version,
            top_level=_top_level(dist),
            metadata=_minimal_metadata(dist),
        )
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return [found[n] for n in sorted(found)]


def _copy_tree(source: Path, dest: Path) -> None:
    service_side = SERVICE_SIDE_MODULES.get(source.name, frozenset())
    builder = BUILDER_PACKAGE[1] if source.name == BUILDER_PACKAGE[0] else None

    def ignore(directory: str, names: list[str]) -> set[str]:
        left_out = {n for n in names if n in LEFT_OUT_DIRS or n.endswith(".pyc")}
        if Path(directory) == source:
            left_out |= {n for n in names if n == builder or n in service_side}
        return left_out

    shutil.copytree(source, dest, ignore=ignore, dirs_exist_ok=True)


def copy_runtime(dists: list[Distribution], site_packages: Path) -> None:
    """Copy each distribution's importable packages and its METADATA into ``site_packages``."""
    site_packages.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        for name in dist.top_level:
            spec = importlib.util.find_spec(name)
            if spec is None or (spec.origin is None and not spec.submodule_search_locations):
                raise BundleError(f"{dist.name} names {name!r}, which cannot be imported here")
            if spec.submodule_search_locations:
                for location in spec.submodule_search_locations:
                    _copy_tree(Path(location), site_packages / name)
            else:
                assert spec.origin is not None
                shutil.copyfile(spec.origin, site_packages / Path(spec.origin).name)
        info = site_packages / f"{dist.name.replace('-', '_')}-{dist.version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(dist.metadata, encoding="utf-8")


def install_requirements(
    requirements: Path, dists: list[Distribution], site_packages: Path, work: Path
) -> list[str]:
    """``pip install --target`` the requirements, merged into ``site_packages``.

    Returns the ``name version`` of each distribution installed for the user, sorted.

    Raises:
        BundleError: pip failed (its output is in the message), or an installed file would
            replace one of lambda-legacy's.
    """
    target = work / "requirements"
    constraints = work / "constraints.txt"
    constraints.write_text("".join(f"{d.name}=={d.version}\n" for d in dists), encoding="utf-8")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--no-warn-script-location", "--target", str(target),
        "--constraint", str(constraints), "--requirement", str(requirements),
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise BundleError(f"pip could not install {requirements}:\n{output}")
    ours = {d.name for d in dists}
    installed: list[str] = []
    for info in sorted(target.glob("*.dist-info")):
        meta = importlib.metadata.PathDistribution(info)
        name = canonicalize_name(meta.metadata["Name"])
        if name in ours:
            shutil.rmtree(info)  # the same version (the constraint) is already there
            for top in _top_level(meta):
                for path in (target / top, target / f"{top}.py"):
                    if path.is_dir():
                        shutil.rmtree(path)
                    elif path.exists():
                        path.unlink()
            continue
        installed.append(f"{name} {meta.version}")
    shutil.rmtree(target / _PIP_SCRIPTS_DIR, ignore_errors=True)
    for entry in sorted(target.iterdir()):
        dest = site_packages / entry.name
        if dest.exists() and entry.name != "__pycache__":
            raise BundleError(f"requirements install {entry.name}, which lambda-legacy has")
        if entry.is_dir():
            shutil.copytree(entry, dest, symlinks=False, dirs_exist_ok=True)
        else:
            shutil.copyfile(entry, dest)
    return installed

"""``ssl`` and ``hmac`` are imported by trio but run only on first use, in our own processes;
they then behave as if imported normally, in any thread. Each check runs in a fresh interpreter
(``-I``, no site), so the test process's own modules do not decide the outcome."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from cli_runner import ROOT, run_cli

#: No check here may take longer (a deadlock in the loading lock fails instead of hanging).
RUN_TIMEOUT_S = 60


def _run(script: str, cwd: Path = ROOT) -> dict[str, object]:
    """Run ``script`` in ``cwd`` with the checkout and ``cwd`` importable; its last stdout line,
    as JSON."""
    prelude = f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(cwd)!r}]\n"
    done = subprocess.run(
        [sys.executable, "-I", "-c", prelude + textwrap.dedent(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_trio_imports_without_running_ssl_or_hmac_and_both_work_on_first_use() -> None:
    seen = _run(
        """
        import json, sys
        from lambda_legacy._deferred_imports import defer
        defer()
        import trio
        before = {name: name in sys.modules for name in ("_ssl", "_hashlib")}
        kinds = {name: type(sys.modules[name]).__name__ for name in ("ssl", "hmac")}
        import hmac, ssl
        from ssl import SSLContext
        context = ssl.create_default_context()
        digest = hmac.new(b"key", b"message", "sha256").hexdigest()
        print(json.dumps({
            "before": before, "kinds": kinds, "context": isinstance(context, SSLContext),
            "digest": digest, "after": type(sys.modules["ssl"]).__name__,
            "same": sys.modules["ssl"] is ssl,
        }))
        """
    )
    assert seen["before"] == {"_ssl": False, "_hashlib": False}
    assert seen["kinds"] == {"ssl": "_DeferredModule", "hmac": "_DeferredModule"}
    assert seen["context"] is True
    assert seen["digest"] == hmac.new(b"key", b"message", hashlib.sha256).hexdigest()
    assert seen["after"] == "module"
    assert seen["same"] is True


def test_threads_that_first_use_a_deferred_module_at_once_all_see_it_whole() -> None:
    seen = _run(
        """
        import json, sys, threading
        from lambda_legacy._deferred_imports import defer
        defer()
        import ssl
        start = threading.Barrier(8)
        results = []
        def use():
            start.wait()
            results.append(ssl.create_default_context().verify_mode == ssl.CERT_REQUIRED)
        threads = [threading.Thread(target=use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(json.dumps({"results": results}))
        """
    )
    assert seen["results"] == [True] * 8


def test_an_imported_module_a_package_and_a_missing_one_are_left_alone() -> None:
    seen = _run(
        """
        import json, sys
        import ssl
        from lambda_legacy._deferred_imports import defer
        defer(["ssl", "email", "xml.dom", "no_such_module_here"])
        print(json.dumps({
            "ssl": sys.modules["ssl"] is ssl,
            "others": [n for n in ("email", "xml.dom", "no_such_module_here") if n in sys.modules],
        }))
        """
    )
    assert seen == {"ssl": True, "others": []}


def test_a_module_that_fails_to_run_fails_like_a_failed_import_each_time(tmp_path: Path) -> None:
    (tmp_path / "fails_at_import.py").write_text("raise RuntimeError('boom at import')\n")
    seen = _run(
        """
        import json, sys
        from lambda_legacy._deferred_imports import defer
        defer(["fails_at_import"])
        import fails_at_import
        errors = []
        try:
            fails_at_import.anything
        except RuntimeError as exc:
            errors.append(str(exc))
        errors.append("fails_at_import" in sys.modules)
        try:
            import fails_at_import
        except RuntimeError as exc:
            errors.append(str(exc))
        print(json.dumps({"errors": errors}))
        """,
        cwd=tmp_path,
    )
    assert seen["errors"] == ["boom at import", False, "boom at import"]


def test_serve_defers_ssl_and_a_handler_that_uses_it_works(tmp_path: Path) -> None:
    (tmp_path / "uses_tls.py").write_text(
        textwrap.dedent(
            """
            import sys

            def handler(event, context):
                before = type(sys.modules["ssl"]).__name__
                import ssl
                return {"before": before, "version": ssl.OPENSSL_VERSION}
            """
        )
    )
    done = run_cli(
        ["invoke", "--event", "{}", "--", sys.executable, "-m", "lambda_legacy", "serve",
         "uses_tls.handler"],
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["before"] == "_DeferredModule"
    assert answer["version"].startswith("OpenSSL")


def test_dir_vars_and_doc_of_a_module_not_used_yet_are_the_whole_module() -> None:
    seen = _run(
        """
        import json, sys
        from lambda_legacy._deferred_imports import defer
        defer()
        import ssl
        names = dir(ssl)
        print(json.dumps({
            "dir": "SSLContext" in names and len(names) > 100,
            "vars": "SSLError" in vars(ssl),
            "doc": bool(ssl.__doc__),
        }))
        """
    )
    assert seen == {"dir": True, "vars": True, "doc": True}


def test_a_name_set_before_first_use_is_not_overwritten_by_the_module_code() -> None:
    seen = _run(
        """
        import json, sys
        from lambda_legacy._deferred_imports import defer
        defer()
        import ssl
        def mine():
            return "mine"
        ssl._create_default_https_context = mine
        print(json.dumps({"kept": ssl._create_default_https_context is mine,
                          "module": ssl.SSLContext.__module__}))
        """
    )
    assert seen == {"kept": True, "module": "ssl"}


def test_reload_before_first_use_runs_the_code_as_import_then_reload_would(
    tmp_path: Path,
) -> None:
    (tmp_path / "counted.py").write_text(
        "import builtins\nbuiltins.COUNTED_RUNS = getattr(builtins, 'COUNTED_RUNS', 0) + 1\n"
        "class K:\n    pass\n"
    )
    seen = _run(
        """
        import builtins, importlib, json, sys
        from lambda_legacy._deferred_imports import defer
        defer(["counted"])
        import counted
        importlib.reload(counted)
        k = counted.K()
        print(json.dumps({"runs": builtins.COUNTED_RUNS, "same": isinstance(k, counted.K),
                          "in_modules": sys.modules["counted"] is counted}))
        """,
        cwd=tmp_path,
    )
    assert seen == {"runs": 2, "same": True, "in_modules": True}


def test_serving_imports_no_decimal_until_a_handler_does() -> None:
    # decimal's C library is milliseconds of a cold start; a result holds a Decimal only once
    # something (boto3) has imported it, and is then written as before.
    seen = _run(
        """
        import json, sys
        import runtime._rpc_mode
        from runtime._payload import encode_result
        before = "decimal" in sys.modules
        first = encode_result({"n": 1.5e-05, "m": [1e16]}).decode()
        from _decimal import Decimal  # as IDEs auto-import it: "decimal" is still not imported
        direct = encode_result({"d": Decimal("9.99")}).decode()
        import decimal
        after = encode_result({"d": decimal.Decimal("0.1"), "e": decimal.Decimal("1e-5")})
        print(json.dumps({
            "before": before, "first": first, "direct": direct, "after": after.decode()
        }))
        """
    )
    assert seen == {
        "before": False,
        "first": '{"n":0.000015,"m":[10000000000000000]}',
        "direct": '{"d":9.99}',
        "after": '{"d":0.1,"e":0.00001}',
    }


def test_the_invoke_command_loads_neither_openssl_library() -> None:
    """Random ids come from ``os.urandom``: ``secrets`` would load hashlib's OpenSSL (~4 ms)."""
    seen = _run(
        """
        import json, sys
        from lambda_legacy._deferred_imports import defer
        defer()
        import lambda_legacy._cmd_invoke
        print(json.dumps({name: name in sys.modules for name in ("_ssl", "_hashlib", "secrets")}))
        """
    )
    assert seen == {"_ssl": False, "_hashlib": False, "secrets": False}

"""The mode switch of the serving entry: aws-lambda-go's order of the two mode variables."""

from __future__ import annotations

import argparse

import pytest

from lambda_legacy import _cmd_serve
from runtime._entry import LambdaEnvironmentError, RpcMode, RuntimeApiMode, choose_mode
from runtime._settings import Settings


def test_server_port_selects_rpc_mode_with_the_port_text_as_given() -> None:
    settings = Settings.from_env({"_LAMBDA_SERVER_PORT": "60304"})
    assert choose_mode(settings) == RpcMode(port="60304")


def test_the_port_option_wins_over_the_variable() -> None:
    settings = Settings.from_env({"_LAMBDA_SERVER_PORT": "60304"})
    assert choose_mode(settings, "9001") == RpcMode(port="9001")


def test_rpc_mode_wins_when_both_variables_are_set() -> None:
    settings = Settings.from_env(
        {"_LAMBDA_SERVER_PORT": "60304", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
    )
    assert choose_mode(settings) == RpcMode(port="60304")


@pytest.mark.parametrize("environ", [{}, {"_LAMBDA_SERVER_PORT": ""}])
def test_no_mode_variable_is_a_clear_error(environ: dict[str, str]) -> None:
    with pytest.raises(LambdaEnvironmentError, match="AWS_LAMBDA_RUNTIME_API is not defined"):
        choose_mode(Settings.from_env(environ))


def test_runtime_api_alone_selects_the_runtime_api_mode() -> None:
    settings = Settings.from_env({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"})
    assert choose_mode(settings) == RuntimeApiMode(address="127.0.0.1:9001")


@pytest.mark.parametrize("first_id", [63, 66])
def test_a_gob_first_id_neither_go_release_uses_is_a_usage_error(
    first_id: int, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    _cmd_serve.add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", "--gob-first-id", str(first_id), "app.handler"])
    assert args.run(args) == _cmd_serve.USAGE_ERROR
    assert capsys.readouterr().err == (
        f"lambda-legacy serve: --gob-first-id must be 64 or 65, not {first_id}\n"
    )

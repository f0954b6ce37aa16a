"""The operator commands as an operator runs them (``flask --app app <command>``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask

from ordering.cli import register_commands
from ordering.demo_catalogue import BERGEN_OFFER, TRAVELLERS, demo_offers
from ordering.http.factory import create_app
from tests.conftest import START, auth_headers, make_settings

HEADERS = auth_headers()


@pytest.fixture
def cli_app(tmp_path: Path) -> Flask:
    """A fresh SQLite service whose rate limiter points at a Redis that is not there."""
    settings = replace(make_settings("sqlite", tmp_path), rate_limit_storage="redis://127.0.0.1:1")
    app = create_app(settings)
    register_commands(app)
    return app


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def offers_file(tmp_path: Path, body: Any, name: str = "offers.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body) if not isinstance(body, str) else body)
    return str(path)


def test_init_db_never_touches_the_rate_limiter(cli_app: Flask) -> None:
    result = run(cli_app, "init-db")
    assert result.exit_code == 0, result.output
    assert "demo catalogue loaded: 6 offers" in result.output


def test_loading_the_same_offers_twice_adds_them_once(cli_app: Flask, tmp_path: Path) -> None:
    assert run(cli_app, "init-db", "--no-demo").exit_code == 0
    offers = [{k: v for k, v in o.items() if k != "id"} for o in demo_offers(START)[:2]]
    path = offers_file(tmp_path, offers)
    first = run(cli_app, "load-offers", path)
    assert first.exit_code == 0 and first.output.startswith("2 offers added"), first.output
    again = run(cli_app, "load-offers", path)
    assert again.exit_code == 1
    assert "exists already" in again.output and "nothing was added" in again.output
    listed = cli_app.test_client().get("/v1/offers", headers=HEADERS).json
    assert len(listed) == 2


def test_load_offers_says_readably_what_is_wrong(cli_app: Flask, tmp_path: Path) -> None:
    assert run(cli_app, "init-db", "--no-demo").exit_code == 0
    broken = run(cli_app, "load-offers", offers_file(tmp_path, '[{"name": "x",}]'))
    assert broken.exit_code == 1
    assert "is not JSON" in broken.output and "line 1, column" in broken.output
    invalid = demo_offers(START)[0] | {"price": {"amount": 899, "taxAmount": "1.00"}, "colour": "red"}
    refused = run(cli_app, "load-offers", offers_file(tmp_path, [invalid]))
    assert refused.exit_code == 1
    lines = refused.output.splitlines()
    assert "offers not valid, nothing was added" in lines[0]
    assert any(line.strip().startswith("0.price.amount:") for line in lines), refused.output
    assert any(line.strip().startswith("0.colour:") for line in lines), refused.output
    assert "{" not in refused.output  # no Python dict dumped at the operator
    assert "Traceback" not in refused.output


def test_audit_prints_each_value_as_json_within_the_terminal_width(cli_app: Flask) -> None:
    assert run(cli_app, "init-db").exit_code == 0
    reserved = cli_app.test_client().post("/v1/reserve-offers", headers=HEADERS, json={
        "offerConfigurations": [{"offerId": BERGEN_OFFER, "selectedTravellerIds": [TRAVELLERS[0]]}]})
    assert reserved.status_code == 200, reserved.json
    result = run(cli_app, "audit", reserved.json["orderId"])
    assert result.exit_code == 0, result.output
    data = [line for line in result.output.splitlines() if line.startswith(" " * 10)]
    assert len(data) > 10 and all(len(line) <= 100 for line in data)
    assert "None" not in result.output and "'" not in result.output
    assert '"amount": "899.00"' in result.output
    assert "externalReference: null" in result.output


def test_a_command_before_init_db_says_to_run_it(cli_app: Flask) -> None:
    for command in (("status",), ("verify",), ("audit", "AAAAAAAA")):
        result = run(cli_app, *command)
        assert result.exit_code != 0
        assert "run `flask --app app init-db`" in result.output, (command, result.output)
        assert "Traceback" not in result.output

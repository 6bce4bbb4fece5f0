"""temporal-dev.yml and deploy/ stay true to the code: commands, ports and search attributes."""

from __future__ import annotations

from pathlib import Path

import yaml

from workers.cli import build_parser
from workers.dev import DevOptions, temporal_command
from workflows.search_attributes import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "temporal-dev.yml").read_text())  # type: ignore[no-any-return]


def flag_values(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command) if word == flag]


def test_temporal_service_matches_the_embedded_dev_server() -> None:
    command = [str(word) for word in compose()["services"]["temporal"]["command"]]
    embedded = temporal_command(DevOptions(home=Path("/data")))[1:]
    assert command[:2] == embedded[:2] == ["server", "start-dev"]
    assert sorted(flag_values(command, "--search-attribute")) == sorted(f"{k}={v}" for k, v in REGISTRY.items())
    assert flag_values(command, "--sqlite-pragma") == flag_values(embedded, "--sqlite-pragma")
    defaults = DevOptions(home=Path("/data"))
    assert flag_values(command, "--port") == [str(defaults.temporal_port)]
    assert flag_values(command, "--ui-port") == [str(defaults.ui_port)]
    ports = compose()["services"]["temporal"]["ports"]
    assert f"127.0.0.1:{defaults.temporal_port}:{defaults.temporal_port}" in ports
    assert f"127.0.0.1:{defaults.ui_port}:{defaults.ui_port}" in ports


def test_worker_and_web_run_real_cli_commands() -> None:
    services = compose()["services"]
    parser = build_parser()
    for name in ("worker", "web"):
        command = services[name]["command"]
        assert command[0] == "duecourse"
        args = parser.parse_args(command[1:])
        assert args.command == name
        assert services[name]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    web_args = parser.parse_args(services["web"]["command"][1:])
    assert f"127.0.0.1:{DevOptions(home=Path('/')).web_port}:{web_args.port}" in services["web"]["ports"]


def test_kubernetes_manifests_run_real_cli_commands() -> None:
    parser = build_parser()
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes.yml").read_text()))
    commands = [c["command"] for d in documents if d["kind"] == "Deployment"
                for c in d["spec"]["template"]["spec"]["containers"]]
    assert {parser.parse_args(c[1:]).command for c in commands} == {"worker", "web"}


def test_every_search_attribute_key_is_registered_under_its_type() -> None:
    from workflows.search_attributes import KEYS

    kinds = {"KEYWORD": "Keyword", "TEXT": "Text", "DOUBLE": "Double", "DATETIME": "Datetime", "INT": "Int",
             "BOOL": "Bool"}
    assert {key.name: kinds[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")] for key in KEYS} == dict(
        REGISTRY)

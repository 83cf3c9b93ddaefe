"""The command registry (advisor/present/registry.py) and typer's commands are the same list, and every command
takes --json and --format with every format the emitter writes."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

from advisor.cli import command_names
from advisor.cli.app import app
from advisor.present.emit import FORMATS, WRITERS
from advisor.present.registry import BY_NAME, REGISTRY


def options(name: str) -> dict[str, Any]:
    command_names()  # every command module imported and handed to typer (a run narrows typer to its own command)
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    return {opt: p for p in command.params for opt in getattr(p, "opts", [])}


def test_typer_and_the_registry_list_the_same_commands_in_the_same_order() -> None:
    assert command_names() == [c.name for c in REGISTRY]


def test_the_emitter_writes_every_format() -> None:
    assert set(WRITERS) == set(FORMATS)


@pytest.mark.parametrize("name", [c.name for c in REGISTRY])
def test_every_command_takes_json_and_format(name: str) -> None:
    found = options(name)
    assert "--json" in found and "--format" in found
    assert found["--format"].default == BY_NAME[name].default_format


@pytest.mark.parametrize("name", [c.name for c in REGISTRY])
def test_every_schema_names_its_command(name: str) -> None:
    schema = BY_NAME[name].schema
    assert schema["properties"]["command"] == {"const": name}
    assert {"schema_version", "command", "hardware", "results", "errors"} <= set(schema["required"])


def test_the_module_table_names_each_modules_own_commands() -> None:
    """main() imports only the module of the command being run; MODULES must say which module defines which."""
    from advisor.cli import MODULES, command_names
    from advisor.cli.app import app

    command_names()
    defined = {}
    for command in app.registered_commands:
        assert command.callback is not None
        module = command.callback.__module__.rsplit(".", 1)[-1]
        defined.setdefault(module, []).append(command.callback.__name__.rstrip("_"))
    assert {m: tuple(names) for m, names in defined.items()} == MODULES


def test_a_run_hands_typer_its_own_command_and_gives_every_command_back(capsys: pytest.CaptureFixture[str],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """main() narrows typer to the command being run (start-up: typer builds every registered command first), and
    restores the full list afterwards, so a second command in the same process still finds its own."""
    from advisor.cli import main

    every = command_names()
    seen: list[list[str]] = []
    real = typer.main.get_command

    def spying(typer_app: typer.Typer) -> Any:
        built = real(typer_app)
        seen.append(sorted(built.commands))  # type: ignore[attr-defined]
        return built

    monkeypatch.setattr(typer.main, "get_command", spying)
    main(["models", "--json"])
    monkeypatch.undo()
    capsys.readouterr()
    assert seen and seen[-1] == ["models"]
    assert sorted(typer.main.get_command(app).commands) == sorted(every)  # type: ignore[attr-defined]
    main(["gpus", "--json"])
    assert capsys.readouterr().out.startswith("{")

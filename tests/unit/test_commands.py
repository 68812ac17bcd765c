"""Every command's declaration (seisfuse.config.commands) drives the CLI, the pipeline steps and
the API, and every bad value is refused the same way wherever it enters.

The misuse tests are generated: each option of each command is probed with a fixed pool of
candidate values; for every value the declaration rejects, the CLI must exit 2 with one line
naming the option (no traceback, nothing written), a pipeline file must name the step's key,
and the API must raise a ConfigError with the same message. A new option is probed without
anyone adding a case.
"""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from seisfuse import api, cli, pipeline
from seisfuse.config import commands as c
from seisfuse.config import load_pipeline
from seisfuse.errors import ConfigError

CANDIDATES = ["abc", "-1", "0", "1", "1.5", "239", "1e12", "1,2", "0,0,0", "5,3", "cuda:x", "1bad-name"]
API = {name: getattr(pipeline if name == "run" else api, name) for name in c.COMMANDS}


def _flag(name, field) -> str:
    return (field.json_schema_extra["flags"] or (f"--{name.replace('_', '-')}",))[-1]


def _choices(annotation) -> tuple | None:
    """The values of a Literal field (or of the Literal in an Optional one)."""
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
    return None


def _placeholders(model, root: Path) -> tuple[list[str], dict]:
    """CLI arguments and API/pipeline values for the required fields: paths that do not exist, a
    name for a required name (labels' --var), or the first choice of a field with choices (an
    action such as `models list`)."""
    argv, values = [], {}
    for name, f in model.model_fields.items():
        if f.is_required():
            choices = _choices(f.annotation)
            value = str(choices[0]) if choices else str(root / f"missing_{name}") \
                if f.json_schema_extra["path"] else f"missing_{name}"
            values[name] = [value] if name == "run_dirs" else value
            argv += [value] if f.json_schema_extra["positional"] else [_flag(name, f), value]
    return argv, values


def _probes(scope: str):
    """(command, field, candidate) for every candidate the declaration rejects as a CLI string."""
    for command, model in c.COMMANDS.items():
        for name, f in model.fields_in(scope).items():
            if f.annotation is bool or f.json_schema_extra["positional"] or f.is_required():
                continue
            _, base = _placeholders(model, Path("/nonexistent"))
            for candidate in CANDIDATES:
                value = [candidate] if getattr(f.annotation, "__origin__", None) is list else candidate
                try:
                    model.model_validate({**base, name: value})
                except ValidationError:
                    yield command, name, candidate


def _core(message: str) -> str:
    """The message of the one bad field, without the echoed input (typed differently by YAML)
    and with the field under one name (each entry point names it as it is spelled there:
    the API's fmt is the CLI's --format and a pipeline's format)."""
    core = re.sub(r" \(got .*\)$", "", message.split(" Fix:")[0].split(": ", 1)[-1])
    for model in c.COMMANDS.values():
        for name, f in model.model_fields.items():
            for alias in getattr(f.validation_alias, "choices", ()):
                core = re.sub(rf"^{alias}\b", name, core)
    return core


CLI_PROBES = list(_probes("cli"))


def test_every_command_has_probes_for_its_bounded_options():
    probed = {(cmd, name) for cmd, name, _ in CLI_PROBES}
    for expected in [("predict", "overlap"), ("predict", "batch_size"), ("predict", "threshold"),
                     ("predict", "device"), ("predict", "blend"), ("ingest", "workers"), ("ingest", "chunks"),
                     ("ingest", "iline_byte"), ("export", "workers"), ("export", "fmt"), ("synth", "seed"),
                     ("synth", "shape"), ("evaluate", "tolerance"), ("evaluate", "region"),
                     ("evaluate", "threshold"), ("run", "cell"), ("info", "layout")]:
        assert expected in probed, f"{expected} has no bound: the declaration accepts every candidate"


@pytest.mark.parametrize("command, name, candidate", CLI_PROBES)
def test_cli_refuses_a_bad_value_in_one_line(tmp_path, capsys, command, name, candidate):
    model = c.COMMANDS[command]
    argv, _ = _placeholders(model, tmp_path)
    code = cli.main([command, *argv, _flag(name, model.model_fields[name]), candidate])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    names = "|".join([name, *map(str, getattr(model.model_fields[name].validation_alias, "choices", ()))])
    assert re.search(rf"\b({names})\b", err) and "Fix:" in err, err
    assert list(tmp_path.iterdir()) == [], "a refused command must leave nothing behind"


def test_the_same_message_from_cli_pipeline_and_api(tmp_path, capsys):
    compared = 0
    for command, name, candidate in CLI_PROBES:
        model = c.COMMANDS[command]
        argv, base = _placeholders(model, tmp_path)
        cli.main([command, *argv, _flag(name, model.model_fields[name]), candidate])
        cli_core = _core(capsys.readouterr().err.strip().removeprefix("seisfuse: error: "))
        func = API[command]
        if name in inspect.signature(func).parameters:  # the API given the same string as the CLI
            positional = [base[p] for p, prm in inspect.signature(func).parameters.items()
                          if prm.kind is prm.POSITIONAL_OR_KEYWORD and p in base]
            required = {p: base[p] for p, prm in inspect.signature(func).parameters.items()
                        if prm.kind is prm.KEYWORD_ONLY and prm.default is prm.empty and p in base}
            with pytest.raises(ConfigError) as api_error:
                func(*positional, **{**required, name: candidate})
            assert api_error.value.where == f"seisfuse.{command}"
            assert _core(str(api_error.value)) == cli_core, (command, name, candidate)
            compared += 1
        typed = yaml.safe_load(candidate)  # a pipeline file: the value as YAML types it
        try:
            model.model_validate({**base, name: typed})
            continue  # YAML typed it into something valid (e.g. 1 for a count): nothing to compare
        except ValidationError:
            pass
        if command != "run" and name in model.fields_in("step"):
            step = {k: v for k, v in base.items() if k in model.fields_in("step")} | {name: typed}
            path = tmp_path / "p.yaml"
            path.write_text(yaml.safe_dump({"name": "p", "steps": [{command: step}]}))
            with pytest.raises(ConfigError, match=re.escape(f"steps[0].{command}")) as step_error:
                load_pipeline(path)
            message = str(step_error.value)
            # a field's own error names the key; a check across fields (--classes without --label)
            # names the step and says the flags in its words
            at = f"steps[0].{command}.{name}" if f"steps[0].{command}.{name}" in message else f"steps[0].{command}: "
            assert at in message, message
            if isinstance(typed, str) and at.endswith(name):  # the same input: the same words
                assert _core("where: " + message.split(f"steps[0].{command}.", 1)[1]) == cli_core
    assert compared > 40


@pytest.mark.parametrize("command", list(c.COMMANDS))
def test_missing_arguments_are_one_line_errors(tmp_path, capsys, command):
    model = c.COMMANDS[command]
    argv, _ = _placeholders(model, tmp_path)
    for k in range(len(argv)):  # drop each required argument (and an option's value) in turn
        code = cli.main([command, *argv[:k]])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv[:k], err)
    flags = [_flag(n, f) for n, f in model.fields_in("cli").items()
             if f.annotation is not bool and not f.json_schema_extra["positional"]]
    for flag in flags:  # an option without its value
        code = cli.main([command, *argv, flag])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and flag in err, (flag, err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", list(c.COMMANDS))
def test_api_keywords_are_the_declaration(command):
    """The API's keywords and defaults are the declared api-scope fields: no drift."""
    params = inspect.signature(API[command]).parameters
    declared = c.COMMANDS[command].fields_in("api")
    named = {n: p for n, p in params.items() if p.kind is not p.VAR_KEYWORD}
    assert set(named) == set(declared)
    for name, p in named.items():
        f = declared[name]
        if f.is_required():
            assert p.default is p.empty, name
        else:
            default = tuple(p.default) if isinstance(p.default, list | tuple) else p.default
            want = tuple(f.default) if isinstance(f.default, list | tuple) else f.default
            assert default == want, f"{command}({name}=...) defaults to {p.default!r}, declared {f.default!r}"


@pytest.mark.parametrize("command", list(c.COMMANDS))
def test_cli_options_are_the_declaration(command):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    model = c.COMMANDS[command]
    field_of = {str(alias): name for name, f in model.model_fields.items()
                for alias in getattr(f.validation_alias, "choices", ())}
    dests = {field_of.get(a.dest, a.dest) for a in sub._actions} - {"help", "quiet", "json"}
    assert dests == set(model.fields_in("cli"))
    for action in sub._actions:
        if field_of.get(action.dest, action.dest) in model.model_fields and action.option_strings:
            assert action.help, action.dest


def test_pipeline_steps_are_the_declaration(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "p", "steps": [{"predict": {"store": "s.zarr", "checkpoint": "c.pt",
                                                                          "batch_size": 4, "device": "cpu"}},
                                                             {"export": {"store": "s.zarr", "out": "o.sgy",
                                                                         "format": "ibm"}}]}))
    (kind, predict), (_, export) = load_pipeline(path).parsed_steps()
    assert predict.volume == "s.zarr" and predict.batch_size == 4 and predict.threshold == 0.5
    assert export.format == "ibm"
    path.write_text(yaml.safe_dump({"name": "p", "steps": [{"ingest": {"src": "a", "store": "b", "overwrite": True}}]}))
    with pytest.raises(ConfigError, match=r"unknown key 'steps\[0\].ingest.overwrite'.*byteorder"):
        load_pipeline(path)


def test_derived_defaults_live_in_the_declaration():
    assert c.Export(store="s", out="o").format == "source"
    assert c.Export(store="s", out="o", var="prediction").format == "ieee"
    assert c.Export(store="s", out="o", var="prediction", fmt="ibm").format == "ibm"


@pytest.mark.parametrize("argv, message", [
    (["predict", "s.zarr", "--checkpoint", "c.pt", "--overlap", "1"], "overlap: Input should be less than 1"),
    (["ingest", "a.sgy", "s.zarr", "--workers", "0"], "workers: Input should be greater than or equal to 1"),
    (["ingest", "a.sgy", "s.zarr", "--iline-byte", "239"], "outside the 240-byte trace header"),
    (["synth", "s.zarr", "--seed", "-1"], "seed: Input should be greater than or equal to 0"),
    (["evaluate", "s.zarr", "--region", "9,3"], "region: 9,3 is empty"),
    (["evaluate", "s.zarr", "--tolerance", "-2"], "tolerance: Input should be greater than or equal to 0"),
    (["run", "p.yaml", "--prepare", "--cell", "1"], "--prepare and --cell cannot be combined"),
    (["predict", "s.zarr", "--checkpoint", "c.pt", "--device", "gpu"], "expected auto, cpu, cuda, cuda:N or mps"),
])
def test_known_bounds(run_cli, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(*argv)
    assert code == 2 and message in err, err


def test_cuda_without_a_gpu_is_a_user_error(run_cli, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run_cli("predict", tmp_path / "s.zarr", "--checkpoint", tmp_path / "c.pt", "--device", "cuda")
    assert code == 2 and "no CUDA device here" in err and "--device cpu" in err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    code, _, err = run_cli("predict", tmp_path / "s.zarr", "--checkpoint", tmp_path / "c.pt", "--device", "cuda:2")
    assert code == 2 and "cuda:2 does not exist: this machine has 2 CUDA device(s)" in err


def test_a_volume_larger_than_memory_is_refused_before_allocation(run_cli, tmp_path):
    code, _, err = run_cli("synth", tmp_path / "big.zarr", "--shape", "4000,4000,4000")
    assert code == 2 and "(4000, 4000, 4000) needs about" in err and "TiB of memory" in err
    assert not (tmp_path / "big.zarr").exists()


def test_outputs_in_folders_that_do_not_exist_yet(run_cli, tmp_path):
    code, _, err = run_cli("synth", tmp_path / "data" / "faults.zarr", "--shape", "16,16,16")
    assert code == 0, err
    code, _, err = run_cli("export", tmp_path / "data" / "faults.zarr", tmp_path / "out" / "deep" / "f.sgy")
    assert code == 0 and (tmp_path / "out" / "deep" / "f.sgy").stat().st_size > 3600, err


def test_report_needs_experiment_runs(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli("report", tmp_path / "empty", "--out", tmp_path / "r")
    assert code == 2 and "no experiment runs found" in err
    assert not (tmp_path / "r").exists()  # refused before an empty report is written
    code, _, err = run_cli("report", tmp_path / "nowhere", "--out", tmp_path / "r")
    assert code == 2 and "no such experiment directory" in err
    assert run_cli("synth", tmp_path / "s.zarr", "--shape", "16,16,16")[0] == 0
    code, _, err = run_cli("report", tmp_path / "s.zarr", "--out", tmp_path / "r")
    assert code == 2 and "is a store, not an experiment directory" in err


def test_an_evaluation_region_must_lie_inside_the_store(run_cli, tmp_path):
    store = tmp_path / "s.zarr"
    assert run_cli("synth", store, "--shape", "16,16,16")[0] == 0
    code, _, err = run_cli("evaluate", store, "--pred", "fault", "--label", "fault", "--region", "8,20")
    assert code == 2 and "reaches past the store's 16 lines" in err and "STOP <= 16" in err
    code, out, err = run_cli("evaluate", store, "--pred", "fault", "--label", "fault", "--region", "8,16")
    assert code == 0 and "iou" in out, err


def test_a_prediction_larger_than_the_disk_is_refused_before_the_model_loads(run_cli, tmp_path, monkeypatch):
    from seisfuse import resources

    store = tmp_path / "s.zarr"
    assert run_cli("synth", store, "--shape", "16,16,16")[0] == 0
    monkeypatch.setattr(resources.shutil, "disk_usage", lambda p: type("U", (), {"free": 1000})())
    code, _, err = run_cli("predict", store, "--checkpoint", tmp_path / "no.pt")
    assert code == 2 and "variable 'prediction' of shape (16, 16, 16) needs about" in err and "of disk" in err


def test_a_training_device_is_checked_when_the_config_is_read():
    from seisfuse.config import load_config

    with pytest.raises(ConfigError, match="train.device: expected auto, cpu, cuda, cuda:N or mps"):
        load_config({"name": "t", "data": {"stores": ["s.zarr"]}, "train": {"device": "gpu"}})

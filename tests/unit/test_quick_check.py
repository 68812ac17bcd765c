"""The command line's quick check (seisfuse.config.quick) decides as the pydantic declarations
do, with the same words, wherever it decides; and the exported declarations are current."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seisfuse.config import commands, declared, quick
from seisfuse.config._declared import COMMANDS as EXPORTED
from seisfuse.errors import ConfigError

WORDS = st.sampled_from(["", "x", "auto", "inline", "gaussian", "ieee", "ibm", "big", "a1", "1a", "fault", "cpu",
                         "cuda:1", "gpu", "s.zarr", "v.html", "f.png", "true", "nan", "inf", "a-b", "prepare"])
NUMBERS = st.one_of(st.integers(-5, 300).map(str), st.floats(-2, 2000, allow_nan=False).map(lambda f: f"{f:g}"),
                    st.sampled_from(["5.0", " 5", "+5", "1_0", "05", "1e3", ".5", "5."]))
LISTS = st.lists(st.one_of(st.integers(-3, 300).map(str), st.sampled_from(["x", "a", "fault"])), min_size=1,
                 max_size=4).map(",".join)
PYTHON = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(-2, 300, allow_nan=False),
                   st.lists(st.integers(-1, 200), max_size=4), st.tuples(st.integers(0, 90), st.integers(0, 90)))
VALUES = st.one_of(WORDS, NUMBERS, LISTS, PYTHON)


def outcome(fn):
    try:
        result = fn()
    except quick.Undecided:
        return "undecided"
    except ConfigError as exc:
        return ("error", str(exc))
    return ("ok", result.kwargs("api"))


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(name=st.sampled_from(sorted(EXPORTED)), data=st.data())
def test_the_quick_check_decides_as_pydantic_with_its_words(name, data):
    model = commands.COMMANDS[name]
    fields = [f["name"] for f in EXPORTED[name]["fields"]]
    chosen = data.draw(st.lists(st.sampled_from(fields), unique=True, max_size=4))
    required = [f["name"] for f in EXPORTED[name]["fields"] if f["required"]]
    values = {k: data.draw(VALUES) for k in dict.fromkeys(required + chosen)}
    fast = outcome(lambda: quick.check(name, dict(values)))
    if fast == "undecided":
        return
    slow = outcome(lambda: commands.check(model, dict(values)))
    assert fast == slow, (name, values)


@pytest.mark.parametrize("name, values, fragment", [
    ("ingest", {"src": "a.sgy", "store": "s.zarr", "iline_byte": "999"}, "iline_byte: byte 999 is outside"),
    ("predict", {"volume": "s.zarr", "checkpoint": "c.pt", "overlap": "1"}, "overlap: Input should be less than 1"),
    ("export", {"store": "s.zarr", "out": "o.sgy", "format": "ebcdic"}, "format: Input should be 'source', 'ibm' or"),
    ("view", {"store": "s.zarr", "out": "v.png"}, "out: 'v.png' must end in .html, .htm"),
])
def test_common_typos_are_decided_quickly(name, values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        quick.check(name, values)


def test_the_exported_declarations_are_current():
    assert declared.render() == declared.OUT.read_text(), (
        "seisfuse/config/_declared.py no longer matches seisfuse/config/commands.py: run "
        "`python -m seisfuse.config.declared`")

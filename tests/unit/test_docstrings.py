"""Every public function of seisfuse (`seisfuse.__all__`) documents each of its arguments, its
return value and the errors it raises (Google style, as the API reference renders them)."""

from __future__ import annotations

import inspect

import pytest

import seisfuse

FUNCTIONS = [name for name in seisfuse.__all__ if name != "__version__"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_docstring_says_arguments_returns_and_raises(name):
    function = getattr(seisfuse, name)
    doc = inspect.getdoc(function) or ""
    assert doc.split("\n", 1)[0].strip(), f"{name}: no summary line"
    parameters = [p for p in inspect.signature(function).parameters]
    if parameters:
        assert "Args:" in doc, f"{name}: no Args section"
        args = doc.split("Args:", 1)[1].split("Returns:", 1)[0]
        missing = [p for p in parameters if f"{p}:" not in args and f"{p}," not in args]
        assert not missing, f"{name}: arguments not documented: {missing}"
    assert "Returns:" in doc, f"{name}: no Returns section"
    assert "Raises:" in doc, f"{name}: no Raises section"

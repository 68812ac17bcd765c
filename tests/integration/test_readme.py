"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("index", range(len(re.findall(r"```python\n", README.read_text()))))
def test_readme_python_blocks_run(tmp_path, monkeypatch, index):
    block = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[index]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, f"README.md python block {index + 1}", "exec"), {})

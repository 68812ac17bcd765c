"""The Python examples of the README and of the documentation pages run as written (each in a
fresh folder); a block that cannot run here says so in its first line: `# not run: <reason>`.
A block that includes a tutorial's file (`--8<-- "name.py"`) is run as that file by
test_tutorials.py."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
BLOCKS = [(page, block) for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
          for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S) if not block.startswith("--8<--")]


@pytest.mark.parametrize("page, block", BLOCKS, ids=[f"{p.relative_to(ROOT)}:{k}" for k, (p, _) in enumerate(BLOCKS)])
def test_python_blocks_run(tmp_path, monkeypatch, page, block):
    if block.startswith("# not run:"):
        reason = block.splitlines()[0].removeprefix("# not run:").strip()
        assert reason, f"{page.name}: a block marked not run gives no reason"
        pytest.skip(reason)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, f"{page.name} python block", "exec"), {})

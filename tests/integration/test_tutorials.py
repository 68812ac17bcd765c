"""The tutorials (docs/tutorials/*.py) run as written, each in an empty folder, and each is
shown whole on the site's Tutorials page (included from its file, so the page cannot drift)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs/tutorials").glob("*.py"))


def test_every_tutorial_is_on_the_tutorials_page():
    included = re.findall(r'```python\n--8<-- "([^"]+)"\n```', (ROOT / "docs/tutorials.md").read_text())
    assert len(TUTORIALS) >= 3 and sorted(included) == [t.name for t in TUTORIALS]


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=[t.stem for t in TUTORIALS])
def test_the_tutorial_runs_in_an_empty_folder(tutorial, tmp_path):
    done = subprocess.run([sys.executable, str(tutorial)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and done.stdout.strip()  # each says what it found

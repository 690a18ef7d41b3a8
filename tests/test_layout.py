"""The shape of the tree: what installs (no generic top-level ``ui`` or ``export`` package, every
subpackage listed) and the import layering (import-linter's contracts in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).parents[1]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_is_installed_under_crn_live() -> None:
    listed = set(_setuptools()["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "crn_live").rglob("__init__.py") if "__pycache__" not in p.parts}
    assert listed == on_disk | {"crn_live.ui"}
    assert all(name.startswith("crn_live") for name in listed)
    assert _setuptools()["package-dir"] == {"crn_live.ui": "ui"}
    assert (ROOT / "ui" / "__init__.py").is_file()
    assert not (ROOT / "export" / "__init__.py").exists()  # scripts, not a package


def test_top_of_the_package_holds_only_the_public_modules() -> None:
    modules = {p.name for p in (ROOT / "crn_live").glob("*.py")}
    assert modules == {"__init__.py", "config.py", "errors.py", "instruments.py",
                       "separation.py"}


def test_the_installed_app_is_crn_live_ui() -> None:
    import crn_live.ui.bridge as bridge

    assert bridge.__name__ == "crn_live.ui.bridge"
    assert Path(bridge.__file__).parent.name == "ui"  # ui/ here, crn_live/ui/ in a wheel


@pytest.mark.skipif(shutil.which("lint-imports") is None,
                    reason="import-linter is a test extra: pip install -e .[test]")
def test_imports_run_downward() -> None:
    done = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout

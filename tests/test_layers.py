"""The layers hold: the import contracts in pyproject.toml, the style rules, and what the core loads.

`lint-imports` (import-linter) checks the contracts statically; one test
breaks a rule on a copy of the tree to show that the check can fail. What
a module loads when it is imported (numpy, PIL, Kivy) is seen only by
importing it, in a fresh interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGES = ("titres", "kiosk", "central")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def copy_tree(dest: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.kv", "*.json"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_every_import_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("central/review.py", "from kiosk.core import session", "The service never imports the kiosk"),
    ("titres/wording.py", "import central.db", "titres, the shared contract, imports neither"),
    ("kiosk/core/journey.py", "import kivy.clock", "Only kiosk.ui imports Kivy"),
    ("kiosk/controller.py", "from kiosk.hal.sim import camera", "Backends are imported only by"),
    ("kiosk/sync/worker.py", "from kiosk.technician import pin", "The kiosk's layers"),
    ("kiosk/hal/camera.py", "from kiosk.speech import voice", "The devices import nothing above them"),
])
def test_a_broken_rule_fails_the_check_and_is_named(tmp_path, module, line, contract):
    tree = copy_tree(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # a rule broken on purpose\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
    assert "1 broken" in result.stdout


def test_the_core_loads_neither_numpy_nor_pil_nor_kivy_when_imported():
    code = (
        "import importlib, pkgutil, sys, kiosk.core\n"
        "for info in pkgutil.walk_packages(kiosk.core.__path__, 'kiosk.core.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(sorted(m for m in ('numpy', 'PIL', 'kivy', 'cv2') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_ruff_with_the_classic_rules_is_clean():
    result = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

"""The example plugin package (examples/plugin_package) adds its perturbation to the
catalogue through the ``robustcheck.perturbations`` entry point.

Nothing is pip-installed: each test builds, in a temporary folder, what an installation
leaves on ``sys.path`` (the package and a ``robustcheck_brands-0.1.dist-info`` folder
whose ``entry_points.txt`` is written from the example's ``pyproject.toml``) and asks a
fresh interpreter for the perturbation. ``importlib.metadata`` finds dist-info folders on
``sys.path``, which is all robustcheck's entry-point loading relies on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "examples" / "plugin_package"
GROUP = "robustcheck.perturbations"
NAME = "brand.competitor"

PROBE = textwrap.dedent(f"""
    import json, sys
    import perturbations
    from perturbations import UnknownPerturbation
    try:
        p = perturbations.get({NAME!r})
    except UnknownPerturbation:
        print(json.dumps(None))
    else:
        print(json.dumps({{
            "module": p.func.__module__,
            "in_catalogue": {NAME!r} in [q.name for q in perturbations.catalogue("text")],
            "swapped": p("Ordered the Acme router", severity=1.0, seed=0),
            "untouched": p("Ordered the router", severity=1.0, seed=0),
            "expectation": p.expectation,
        }}))
""")


def project() -> tuple[str, str, dict[str, str]]:
    """Name, version and the entry points of the group in the example's pyproject.toml."""
    text = (PACKAGE / "pyproject.toml").read_text("utf-8")
    try:
        import tomllib
    except ImportError:  # Python 3.10: read the three fields the test needs
        name = re.search(r'^name\s*=\s*"([^"]+)"', text, re.M)
        version = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
        section = text.split(f'[project.entry-points."{GROUP}"]', 1)[1].split("\n[", 1)[0]
        entries = dict(re.findall(r'^(\w+)\s*=\s*"([^"]+)"', section, re.M))
        assert name and version, "pyproject.toml has no name or version"
        return name.group(1), version.group(1), entries
    data = tomllib.loads(text)["project"]
    return data["name"], data["version"], dict(data["entry-points"][GROUP])


def fake_install(site: Path, *, with_metadata: bool = True) -> None:
    """What `pip install examples/plugin_package` puts in site-packages, by hand."""
    shutil.copytree(PACKAGE / "robustcheck_brands", site / "robustcheck_brands",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if not with_metadata:
        return
    name, version, entries = project()
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", "utf-8")
    lines = "".join(f"{k} = {v}\n" for k, v in entries.items())
    (dist / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}", "utf-8")


def probe(site: Path, cwd: Path) -> object:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(site)}, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "could not load perturbations" not in done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_pyproject_declares_the_package_module_as_its_entry_point() -> None:
    name, version, entries = project()
    assert (name, version) == ("robustcheck-brands", "0.1")
    assert entries == {"brands": "robustcheck_brands"}


@pytest.mark.slow  # asks a fresh interpreter, which imports robustcheck
def test_an_installed_plugin_package_adds_its_perturbation_through_the_entry_point(
    tmp_path: Path,
) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "cwd"
    site.mkdir()
    elsewhere.mkdir()
    fake_install(site)
    found = probe(site, elsewhere)
    assert found == {
        "module": "robustcheck_brands",
        "in_catalogue": True,
        "swapped": "Ordered the Globex router",
        "untouched": "Ordered the router",
        "expectation": "invariant",
    }


@pytest.mark.slow  # asks a fresh interpreter, which imports robustcheck
def test_without_the_entry_point_metadata_the_perturbation_is_not_found(tmp_path: Path) -> None:
    # The control: the module alone on sys.path is never imported, so the test above
    # passes only because the entry point was read.
    site, elsewhere = tmp_path / "site", tmp_path / "cwd"
    site.mkdir()
    elsewhere.mkdir()
    fake_install(site, with_metadata=False)
    assert probe(site, elsewhere) is None

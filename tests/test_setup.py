"""The install and configuration plumbing: config.py's defaults, the pinned requirements, system-deps.sh.

Configuration is read once, at import, from the environment, so each case runs ``import config`` in a
fresh interpreter (the venv's, ``sys.executable``) with a clean environment: no ``SECRET_KEY``, no
``DATABASE_URL``, and a temporary ``PORTICO_INSTANCE_DIR``. Nothing here needs the app or a database.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
CONFIG_VARS = ("SECRET_KEY", "DATABASE_URL", "PORTICO_INSTANCE_DIR")


def read_config(instance_dir: Path, **env: str) -> dict:
    """Import config.py in a new interpreter and return what it decided."""
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    clean.update(PORTICO_INSTANCE_DIR=str(instance_dir), **env)
    code = (
        "import json, config\n"
        "print(json.dumps({'secret_key': config.Config.SECRET_KEY,"
        " 'database_uri': config.Config.SQLALCHEMY_DATABASE_URI}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True,
                            timeout=60, umask=0o022)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- SECRET_KEY ---------------------------------------------------------------------------------------

def test_secret_key_is_generated_once_into_the_instance_dir(tmp_path):
    instance = tmp_path / "instance"  # does not exist yet: config.py creates it
    first = read_config(instance)

    key_file = instance / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first["secret_key"].encode()) >= 32
    assert first["secret_key"] == key_file.read_text().strip()

    second = read_config(instance)
    assert second["secret_key"] == first["secret_key"]


def test_each_instance_dir_gets_its_own_random_key(tmp_path):
    one = read_config(tmp_path / "one")["secret_key"]
    two = read_config(tmp_path / "two")["secret_key"]
    assert one != two


def test_secret_key_from_the_environment_wins_and_writes_nothing(tmp_path):
    key = "k" * 64
    config = read_config(tmp_path, SECRET_KEY=key)
    assert config["secret_key"] == key
    assert not (tmp_path / "secret_key").exists()


# --- DATABASE_URL -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "expected"), [
    ("postgresql://portico:pw@db.example:5432/portico", "postgresql+psycopg://portico:pw@db.example:5432/portico"),
    ("postgresql://postgres@127.0.0.1/test", "postgresql+psycopg://postgres@127.0.0.1/test"),
    ("postgres://portico@localhost/portico", "postgresql+psycopg://portico@localhost/portico"),
    ("postgresql+psycopg://portico@localhost/portico", "postgresql+psycopg://portico@localhost/portico"),
    ("sqlite:////var/lib/portico/portico.db", "sqlite:////var/lib/portico/portico.db"),
])
def test_database_url_goes_through_psycopg3(tmp_path, given, expected):
    assert read_config(tmp_path, DATABASE_URL=given)["database_uri"] == expected


def test_default_database_is_a_sqlite_file_under_the_instance_dir(tmp_path):
    from sqlalchemy.engine import make_url

    instance = tmp_path / "instance"
    url = make_url(read_config(instance)["database_uri"])
    assert url.drivername == "sqlite"
    assert Path(url.database) == instance / "portico.db"
    assert instance.is_dir()


# --- requirements -------------------------------------------------------------------------------------

def pins(path: Path) -> dict[str, str]:
    """``{name: version}`` of every requirement in the file that applies to this interpreter."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{path.name}: not an exact pin: {line!r}"
        if requirement.marker is None or requirement.marker.evaluate():
            found[requirement.name] = specifiers[0].version
    return found


@pytest.mark.parametrize("filename", ["requirements.txt", "requirements-dev.txt"])
def test_installed_packages_match_the_pins(filename):
    wrong = {}
    for name, version in pins(REPO / filename).items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"pinned vs installed (run `make test` or `make venv`): {wrong}"


def test_runtime_and_dev_requirements_do_not_overlap():
    runtime = {name.lower().replace("_", "-") for name in pins(REPO / "requirements.txt")}
    dev = {name.lower().replace("_", "-") for name in pins(REPO / "requirements-dev.txt")}
    assert not runtime & dev
    assert "-r requirements.txt" in (REPO / "requirements-dev.txt").read_text()


def test_marshmallow_stays_below_4():
    # FAB 5.3's security API crashes at start-up with marshmallow 4 (KeyError: 'permission_id').
    assert int(pins(REPO / "requirements.txt")["marshmallow"].split(".")[0]) < 4


# --- scripts/system-deps.sh ---------------------------------------------------------------------------
# Run against fake dpkg-query, id and apt-get commands first on PATH, so no package is really installed.

WEASYPRINT_PACKAGES = ["libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"]


def fake_system(tmp_path: Path, installed: list[str], uid: int) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    scripts = {
        # dpkg-query -W -f='${db:Status-Abbrev}' PACKAGE
        "dpkg-query": 'case " ' + " ".join(installed) + ' " in *" ${@: -1} "*) printf "ii ";; *) exit 1;; esac',
        "id": f"echo {uid}",
        "apt-get": f"echo \"$DEBIAN_FRONTEND apt-get $*\" >> {log}",
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/bash\n" + body + "\n")
        path.chmod(0o755)
    return bin_dir


def run_system_deps(tmp_path: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHON": sys.executable, "HOME": str(tmp_path)}
    return subprocess.run(["bash", str(REPO / "scripts" / "system-deps.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def apt_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "apt.log"
    return log.read_text().splitlines() if log.exists() else []


def _fake_npm(bin_dir: Path) -> None:
    """npm on the PATH (NodeSource's nodejs brings it; Debian's needs the npm package): not asked for."""
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\nexit 0\n")
    npm.chmod(0o755)


def test_system_deps_does_nothing_when_everything_is_installed(tmp_path):
    browser = ["chromium", "postgresql-client", "poppler-utils", "zbar-tools", "nodejs"]
    bin_dir = fake_system(tmp_path, WEASYPRINT_PACKAGES + browser, uid=1000)
    _fake_npm(bin_dir)
    result = run_system_deps(tmp_path, bin_dir, "--browser")
    assert result.returncode == 0, result.stderr
    assert apt_calls(tmp_path) == []


def test_system_deps_prints_the_sudo_line_when_not_root(tmp_path):
    bin_dir = fake_system(tmp_path, ["libpango-1.0-0", "libpangoft2-1.0-0"], uid=1000)
    result = run_system_deps(tmp_path, bin_dir)
    assert result.returncode == 1
    assert ("sudo apt-get install -y --no-install-recommends libharfbuzz-subset0 fonts-dejavu-core"
            in result.stderr)
    assert apt_calls(tmp_path) == []


def test_system_deps_installs_the_missing_packages_as_root(tmp_path):
    bin_dir = fake_system(tmp_path, ["libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"], uid=0)
    _fake_npm(bin_dir)
    result = run_system_deps(tmp_path, bin_dir, "--browser")
    assert result.returncode == 0, result.stderr
    assert apt_calls(tmp_path) == [
        "noninteractive apt-get update -qq",
        "noninteractive apt-get install -y --no-install-recommends libharfbuzz-subset0 chromium postgresql-client "
        "poppler-utils zbar-tools nodejs",
    ]


def test_system_deps_rejects_unknown_arguments(tmp_path):
    bin_dir = fake_system(tmp_path, WEASYPRINT_PACKAGES, uid=0)
    result = run_system_deps(tmp_path, bin_dir, "--bogus")
    assert result.returncode == 2
    assert apt_calls(tmp_path) == []

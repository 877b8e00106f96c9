"""The lock file installs what pyproject.toml asks for: a helper who adds, changes or removes a dependency in
pyproject.toml without running `make lock` is told here, by name, before a fresh `make run` would install the
wrong set (--require-hashes installs only what requirements.lock pins, so an unlocked dependency would be
missing at run time)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUN_MAKE_LOCK = "run `make lock` and commit requirements.lock with pyproject.toml"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _asked_for() -> list[Requirement]:
    """What the lock is made from (the Makefile's `lock`): the dependencies, the [test] extra, the build backend."""
    project = _pyproject()
    raw = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["test"],
        *project["build-system"]["requires"],
    ]
    return [Requirement(line) for line in raw]


def _locked() -> tuple[dict[str, str], set[str]]:
    """Pinned versions by name, and the names the lock says it has *because pyproject.toml asks for them*."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins: dict[str, str] = {}
    direct: set[str] = set()
    current = ""
    for line in text.splitlines():
        pinned = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", line)
        if pinned:
            current = canonicalize_name(pinned.group(1))
            pins[current] = pinned.group(2)
        elif re.match(r"^\s*#\s*(via\s+)?eoi-bot \(pyproject\.toml\)", line):
            direct.add(current)
    return pins, direct


def test_every_dependency_in_pyproject_is_locked_at_a_version_it_accepts() -> None:
    pins, _ = _locked()
    problems = []
    for requirement in _asked_for():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is in pyproject.toml but not in requirements.lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{requirement} is in pyproject.toml but requirements.lock pins {name}=={pins[name]}")
    assert not problems, "\n".join(problems) + f"\n{RUN_MAKE_LOCK}"


def test_the_extras_a_dependency_asks_for_are_locked_too() -> None:
    # `sqlalchemy[asyncio]` needs greenlet: an extra added in pyproject.toml without `make lock` would be missing.
    pins, _ = _locked()
    problems = []
    for requirement in _asked_for():
        for extra in sorted(requirement.extras):
            for needed in metadata.requires(requirement.name) or []:
                wanted = Requirement(needed)
                if (
                    wanted.marker
                    and wanted.marker.evaluate({"extra": extra})
                    and not wanted.marker.evaluate({"extra": ""})
                    and canonicalize_name(wanted.name) not in pins
                ):
                    problems.append(f"{requirement.name}[{extra}] needs {wanted.name}, which requirements.lock lacks")
    assert not problems, "\n".join(problems) + f"\n{RUN_MAKE_LOCK}"


def test_nothing_is_locked_for_a_dependency_pyproject_no_longer_asks_for() -> None:
    _, direct = _locked()
    asked = {canonicalize_name(r.name) for r in _asked_for()}
    stale = sorted(direct - asked)
    assert not stale, (
        f"requirements.lock still installs {', '.join(stale)} for pyproject.toml, which no longer asks for "
        f"{'it' if len(stale) == 1 else 'them'}; {RUN_MAKE_LOCK}"
    )


def test_every_pin_carries_hashes() -> None:
    # --require-hashes refuses a lock with any unhashed pin; say which one here, not at install time.
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    unhashed = [entry.split(" ", 1)[0] for entry in entries if "==" in entry and "--hash=sha256:" not in entry]
    assert not unhashed, f"pins without hashes: {', '.join(unhashed)}; {RUN_MAKE_LOCK}"


def test_the_installer_is_the_release_the_makefile_names_and_is_checked_by_hash_too() -> None:
    # `make` installs the lock with uv, and uv from tools.lock (by pip, --require-hashes): the two must agree,
    # or `make lock` and the install would run different releases.
    named = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert named, "the Makefile no longer names UV_VERSION"
    text = (ROOT / "tools.lock").read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE)
    wanted = [("uv", named.group(1))]
    assert pins == wanted, f"tools.lock pins {pins}, the Makefile uv=={named.group(1)}; run `make lock`"
    assert text.count("--hash=sha256:") >= 1

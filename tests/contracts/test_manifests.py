"""The Teams app package sources and the Slack app manifest are valid and consistent."""

from __future__ import annotations

import io
import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # allow `pytest tests/...` without installing the package
    sys.path.insert(0, str(ROOT))

from bot import manifests, teams_package  # noqa: E402
from dialogs import commands as command_registry  # noqa: E402

TEAMS_DIR = ROOT / "manifest" / "teams"
SLACK_MANIFEST = ROOT / "manifest" / "slack" / "manifest.yaml"
APP_ID = "3f2b6c1e-9a4d-4e7b-8c21-5d0f7a9b1c2e"
# The platforms' command menus list what the command registry offers there (dialogs.commands).
COMMANDS = [c.name for c in command_registry.menu()]
SLACK_BOT_SCOPES = {
    "commands",
    "files:read",
    "chat:write",
    "channels:history",
    "groups:history",
    "im:history",
    "im:write",
    "files:write",
    "users:read",
    "users:read.email",
}


def _template() -> dict[str, Any]:
    return json.loads((TEAMS_DIR / "manifest.template.json").read_text(encoding="utf-8"))


def _icons() -> dict[str, bytes]:
    return {name: (TEAMS_DIR / name).read_bytes() for name in ("color.png", "outline.png")}


def _png(size: tuple[int, int], colour: tuple[int, int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, colour).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def manifest_copy(tmp_path: Path) -> Path:
    """A private copy of manifest/teams that a test may break."""
    target = tmp_path / "teams"
    shutil.copytree(TEAMS_DIR, target)
    return target


# --- Teams ---------------------------------------------------------------------------------


def test_template_validates_against_schema() -> None:
    schema_path = teams_package.find_schema()
    if schema_path is None:
        pytest.skip("teams-manifest-1.29.schema.json not found in ../shared/schemas and EOI_TEAMS_SCHEMA unset")
    import jsonschema

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_template())]
    assert errors == []


def test_template_passes_our_own_checks() -> None:
    assert teams_package.check_manifest(_template(), _icons()) == []


def test_template_content() -> None:
    m = _template()
    assert m["$schema"] == teams_package.SCHEMA_URL
    assert m["manifestVersion"] == "1.29"
    assert m["id"] == m["bots"][0]["botId"] == teams_package.PLACEHOLDER_ID
    assert m["name"] == {"short": "EOI Bot", "full": "Essex Resourced Provision EOI Bot"}
    assert m["developer"]["name"] == "Essex County Council"
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert m["developer"][key].startswith("https://")
    bot = m["bots"][0]
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    assert bot["supportsFiles"] is True  # an export arrives as a file in personal chat
    assert bot["isNotificationOnly"] is False
    scopes = sorted(s for cl in bot["commandLists"] for s in cl["scopes"])
    assert scopes == ["personal", "team"]
    for command_list in bot["commandLists"]:
        assert [c["title"] for c in command_list["commands"]] == COMMANDS
        for command in command_list["commands"]:
            assert len(command["title"]) <= 32
            assert 0 < len(command["description"]) <= 128


def test_icon_files_sizes_and_outline_rule() -> None:
    with Image.open(TEAMS_DIR / "color.png") as color, Image.open(TEAMS_DIR / "outline.png") as outline:
        assert color.format == outline.format == "PNG"
        assert color.size == (192, 192)
        assert outline.size == (32, 32)
        assert outline.mode == "RGBA"
        raw = outline.tobytes()
    pixels = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    assert all(a == 0 or (r, g, b) == (255, 255, 255) for r, g, b, a in pixels)
    assert any(a > 0 for *_, a in pixels), "outline icon is empty"


def test_build_package_writes_zip(tmp_path: Path) -> None:
    out = tmp_path / "eoi-bot.zip"
    assert teams_package.build_package(APP_ID, out) == []
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(zf.read("manifest.json"))
        assert zf.read("color.png") == (TEAMS_DIR / "color.png").read_bytes()
        assert zf.read("outline.png") == (TEAMS_DIR / "outline.png").read_bytes()
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    # The rest of the template is carried over untouched.
    template = _template()
    for key in ("id",):
        template.pop(key)
        manifest.pop(key)
    template["bots"][0].pop("botId")
    manifest["bots"][0].pop("botId")
    assert manifest == template


@pytest.mark.parametrize("bad_id", ["not-a-guid", "", "3f2b6c1e9a4d4e7b8c215d0f7a9b1c2e", teams_package.PLACEHOLDER_ID])
def test_build_package_refuses_bad_app_id(tmp_path: Path, bad_id: str) -> None:
    out = tmp_path / "eoi-bot.zip"
    problems = teams_package.build_package(bad_id, out)
    assert problems
    assert any("Microsoft App ID" in p for p in problems)
    assert not out.exists()


def test_wrong_size_icon_is_reported_and_nothing_written(tmp_path: Path, manifest_copy: Path) -> None:
    (manifest_copy / "color.png").write_bytes(_png((100, 100), (0, 122, 135, 255)))
    out = tmp_path / "eoi-bot.zip"
    problems = teams_package.build_package(APP_ID, out, manifest_dir=manifest_copy)
    assert any("icons.color" in p and "100x100" in p and "192x192" in p for p in problems), problems
    assert not out.exists()


def test_missing_icon_is_reported(tmp_path: Path, manifest_copy: Path) -> None:
    (manifest_copy / "outline.png").unlink()
    problems = teams_package.build_package(APP_ID, tmp_path / "x.zip", manifest_dir=manifest_copy)
    assert any("icons.outline" in p and "missing" in p for p in problems), problems


def test_outline_with_non_white_pixels_is_reported() -> None:
    icons = _icons() | {"outline.png": _png((32, 32), (0, 0, 0, 255))}
    problems = teams_package.check_manifest(_template(), icons)
    assert any("icons.outline" in p and "not white" in p for p in problems), problems


def test_outline_without_transparency_is_reported() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (255, 255, 255)).save(buf, format="PNG")
    problems = teams_package.check_manifest(_template(), _icons() | {"outline.png": buf.getvalue()})
    assert any("no transparency" in p for p in problems), problems


def test_check_manifest_reports_id_problems() -> None:
    m = teams_package.fill_template(_template(), APP_ID)
    m["bots"][0]["botId"] = "3f2b6c1e-0000-4e7b-8c21-5d0f7a9b1c2e"
    problems = teams_package.check_manifest(m, _icons(), app_id=APP_ID)
    assert any("botId" in p for p in problems), problems

    m = _template()
    m["id"] = "nope"
    problems = teams_package.check_manifest(m, _icons())
    assert any(p.startswith("id:") and "GUID" in p for p in problems), problems


def test_check_manifest_reports_missing_fields_and_limits() -> None:
    m = _template()
    del m["developer"]
    m["manifestVersion"] = "1.16"  # draft-04 ignores the schema's "const"; we must not
    m["bots"][0]["commandLists"][0]["commands"].append({"title": "x" * 40, "description": "y" * 200})
    problems = teams_package.check_manifest(m, _icons())
    text = "\n".join(problems)
    assert "developer: required field is missing" in text
    assert "manifestVersion" in text
    assert "11 commands" in text
    assert "at most 32" in text
    assert "at most 128" in text


def test_main_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pkg.zip"
    assert teams_package.main(["--app-id", APP_ID, "--out", str(out)]) == 0
    assert out.is_file()
    assert str(out) in capsys.readouterr().out
    assert teams_package.main(["--app-id", "bad", "--out", str(tmp_path / "bad.zip")]) == 1
    assert "GUID" in capsys.readouterr().err


# --- Slack ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slack_manifest() -> dict[str, Any]:
    data = yaml.safe_load(SLACK_MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_slack_slash_command(slack_manifest: dict[str, Any]) -> None:
    commands = slack_manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/eoi"]
    eoi = commands[0]
    assert eoi["url"].startswith("https://") and eoi["url"].endswith("/slack/events")
    assert eoi["should_escape"] is False
    assert eoi["usage_hint"] == command_registry.slack_usage_hint()  # from the command registry


def test_slack_urls_all_on_slack_events(slack_manifest: dict[str, Any]) -> None:
    settings = slack_manifest["settings"]
    events = settings["event_subscriptions"]
    assert events["request_url"].startswith("https://") and events["request_url"].endswith("/slack/events")
    assert set(events["bot_events"]) == {"message.im", "app_home_opened"}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"] == events["request_url"]
    assert slack_manifest["features"]["slash_commands"][0]["url"] == events["request_url"]
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_slack_app_home_and_bot_user(slack_manifest: dict[str, Any]) -> None:
    home = slack_manifest["features"]["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False
    assert slack_manifest["features"]["bot_user"]["display_name"]
    assert slack_manifest["display_information"]["name"]


def test_slack_scopes_exact(slack_manifest: dict[str, Any]) -> None:
    scopes = slack_manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user-token scopes"
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes["bot"]) == SLACK_BOT_SCOPES


# --- generated from the command registry ---------------------------------------------------


def test_the_committed_manifests_are_what_the_registry_generates() -> None:
    """manifest/ holds what `eoi-bot manifests` writes: the Slack usage hints and the Teams command lists."""
    made = manifests.generated()
    assert {path.relative_to(ROOT).as_posix() for path in made} == {
        "manifest/slack/manifest.yaml",
        "manifest/slack/manifest.socket-mode.yaml",
        "manifest/teams/manifest.template.json",
    }
    for path, (committed, generated) in made.items():
        assert committed == generated, f"{path}: run `eoi-bot manifests`"
    assert manifests.main(["--check"]) == 0


def test_a_command_added_to_the_menu_is_written_into_every_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "manifest", tmp_path / "manifest")
    audit = command_registry.CommandSpec("audit", "officer", "audit REF", "the trail", hint="audit REF", menu="Audit")
    # In the menus instead of export (Teams shows ten at most).
    kept = tuple(c for c in command_registry.COMMANDS if c.name != "export")
    monkeypatch.setattr(command_registry, "COMMANDS", (*kept, audit))
    assert manifests.main(["--check", "--manifest-dir", str(tmp_path / "manifest")]) == 1
    assert manifests.main(["--manifest-dir", str(tmp_path / "manifest")]) == 0
    assert manifests.main(["--check", "--manifest-dir", str(tmp_path / "manifest")]) == 0
    for name in manifests.SLACK_MANIFESTS:
        slack = yaml.safe_load((tmp_path / "manifest" / name).read_text(encoding="utf-8"))
        assert slack["features"]["slash_commands"][0]["usage_hint"].endswith(" | window | audit REF")
    teams = json.loads((tmp_path / "manifest" / manifests.TEAMS_TEMPLATE).read_text(encoding="utf-8"))
    for command_list in teams["bots"][0]["commandLists"]:
        assert command_list["commands"][-1] == {"title": "audit", "description": "Audit"}
    # The package is built with the registry's lists, whatever the template it is given says.
    out = tmp_path / "eoi-bot.zip"
    assert teams_package.build_package(APP_ID, out, manifest_dir=ROOT / "manifest" / "teams") == []
    with zipfile.ZipFile(out) as zf:
        built = json.loads(zf.read("manifest.json"))
    assert [c["title"] for c in built["bots"][0]["commandLists"][0]["commands"]][-2:] == ["window", "audit"]


def test_every_command_in_a_menu_says_what_it_does_within_teams_limits() -> None:
    for command in command_registry.menu():
        assert 0 < len(command.menu) <= teams_package.MAX_COMMAND_DESCRIPTION, command.name
        assert len(command.name) <= teams_package.MAX_COMMAND_TITLE


def test_a_council_prints_its_slack_manifest_for_its_own_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert manifests.slack_main(["--host", "https://eoi.essex.example/"]) == 0
    printed = capsys.readouterr().out
    manifest = yaml.safe_load(printed)
    assert manifest["settings"]["event_subscriptions"]["request_url"] == "https://eoi.essex.example/slack/events"
    assert manifest["features"]["slash_commands"][0]["url"] == "https://eoi.essex.example/slack/events"
    # The comments still explain what to replace, for whoever edits the file by hand later.
    assert "# after replacing YOUR-HOST" in printed and "https://YOUR-HOST" not in printed


def test_a_host_that_is_not_a_host_name_is_refused_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert manifests.slack_main(["--host", "eoi.essex.example/slack/events"]) == 2
    assert "is not a host name" in capsys.readouterr().out

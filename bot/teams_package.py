"""Build and check the Microsoft Teams app package (manifest.json + two icons in a zip).

Teams rejects a bad package at upload with terse errors, so we check everything we can
locally first: the JSON Schema (when the v1.29 schema file is available; there is no
network in CI), the rules the schema does not express (command-menu limits, icon sizes,
the white-on-transparent outline), and that the ids are the Azure Bot's Microsoft App ID.

    eoi-bot teams-package --app-id <GUID> --out eoi-bot.zip

The bot's command lists come from the command registry (dialogs.commands), as bot/manifests.py writes them.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dialogs.commands import teams_commands

SCHEMA_URL = "https://developer.microsoft.com/json-schemas/teams/v1.29/MicrosoftTeams.schema.json"
SCHEMA_FILENAME = "teams-manifest-1.29.schema.json"
MANIFEST_VERSION = "1.29"
TEMPLATE_NAME = "manifest.template.json"
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"

DEFAULT_MANIFEST_DIR = Path(__file__).resolve().parents[1] / "manifest" / "teams"

# Same pattern as the schema's "guid" definition, so our message and the schema agree.
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
HEX_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")

# Sizes Teams insists on (the schema only says so in descriptions).
ICON_SIZES = {"color": (192, 192), "outline": (32, 32)}

# Bot command menu limits from the Teams docs. The v1.29 schema allows 12 commands and
# 128-character titles, but the client shows at most 10 per menu and the documented
# limits are 32 (title) and 128 (description); we hold ourselves to the stricter ones.
MAX_COMMANDS = 10
MAX_COMMAND_TITLE = 32
MAX_COMMAND_DESCRIPTION = 128

REQUIRED_TOP_LEVEL = (
    "$schema",
    "manifestVersion",
    "version",
    "id",
    "developer",
    "name",
    "description",
    "icons",
    "accentColor",
    "bots",
)


def is_guid(value: object) -> bool:
    return isinstance(value, str) and GUID_RE.match(value) is not None


def find_schema() -> Path | None:
    """The v1.29 schema file, or None when it is not available.

    `EOI_TEAMS_SCHEMA` (a file, or a directory holding it) wins; otherwise the shared
    schemas directory next to the repository (`<repo>/../shared/schemas`).
    """
    candidates: list[Path] = []
    env = os.environ.get("EOI_TEAMS_SCHEMA")
    if env:
        p = Path(env).expanduser()
        candidates.append(p / SCHEMA_FILENAME if p.is_dir() else p)
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "schemas" / SCHEMA_FILENAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _schema_problems(manifest: Mapping[str, Any], schema_path: Path) -> list[str]:
    import jsonschema  # imported lazily: only needed when the schema file exists

    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"could not read the Teams schema {schema_path}: {exc}"]
    # The schema declares draft-04; validator_for honours its "$schema". Note that draft-04
    # ignores "const" (used for manifestVersion) and "if"/"then", so those are checked by
    # hand in check_manifest. Formats are not asserted (no format_checker) on purpose: the
    # only one is "uri" on "$schema", and checking it needs an extra package.
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    validator = validator_cls(schema)
    problems = []
    for error in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"schema: {where}: {error.message}")
    return problems


def _icon_problems(kind: str, name: str, data: bytes | None) -> list[str]:
    from PIL import Image, UnidentifiedImageError

    if data is None:
        return [f"icons.{kind}: file {name!r} is missing from the package"]
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        return [f"icons.{kind}: {name!r} is not a readable image ({exc})"]
    problems = []
    if img.format != "PNG":
        problems.append(f"icons.{kind}: {name!r} must be a PNG, not {img.format}")
    want = ICON_SIZES[kind]
    if img.size != want:
        problems.append(f"icons.{kind}: {name!r} is {img.size[0]}x{img.size[1]}, must be exactly {want[0]}x{want[1]}")
    if kind == "outline":
        problems.extend(_outline_problems(name, img))
    return problems


def _outline_problems(name: str, img: Any) -> list[str]:
    # Teams tints the outline icon itself, so it must be white (#FFFFFF) on transparent:
    # every pixel is either fully transparent or pure white (any alpha). A grey
    # anti-aliasing fringe counts as a wrong colour.
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if not has_alpha:
        return [f"icons.outline: {name!r} has no transparency (mode {img.mode}); it must be white on transparent"]
    raw = img.convert("RGBA").tobytes()
    bad = 0
    visible = 0
    for i in range(0, len(raw), 4):
        r, g, b, a = raw[i], raw[i + 1], raw[i + 2], raw[i + 3]
        if a == 0:
            continue
        visible += 1
        if (r, g, b) != (255, 255, 255):
            bad += 1
    problems = []
    if bad:
        problems.append(
            f"icons.outline: {name!r} has {bad} visible pixel(s) that are not white; "
            "use only #FFFFFF on a transparent background"
        )
    if visible == 0:
        problems.append(f"icons.outline: {name!r} is fully transparent")
    return problems


def _bot_problems(manifest: Mapping[str, Any], app_id: str | None) -> list[str]:
    bots = manifest.get("bots")
    if not isinstance(bots, list) or len(bots) != 1 or not isinstance(bots[0], Mapping):
        return ["bots: must hold exactly one bot"]
    bot = bots[0]
    problems = []
    bot_id = bot.get("botId")
    if not is_guid(bot_id):
        problems.append(f"bots[0].botId: {bot_id!r} is not a GUID (use the Azure Bot's Microsoft App ID)")
    elif app_id is not None and bot_id.lower() != app_id.lower():
        problems.append(f"bots[0].botId: {bot_id!r} is not the bot's app id {app_id!r}")
    elif app_id is None and is_guid(manifest.get("id")) and bot_id.lower() != str(manifest["id"]).lower():
        # We register one Azure Bot and use its Microsoft App ID as the Teams app id too.
        problems.append(f"bots[0].botId: {bot_id!r} differs from the app id {manifest['id']!r}")
    if not bot.get("scopes"):
        problems.append("bots[0].scopes: at least one scope is required")
    if bot.get("supportsFiles") is not True:
        # Without it Teams offers no way to attach a file in personal chat (evidence for an EOI), nor to take an
        # export the bot offers.
        problems.append("bots[0].supportsFiles: must be true (evidence files and exports in personal chat)")
    for i, command_list in enumerate(bot.get("commandLists") or []):
        commands = command_list.get("commands") or []
        where = f"bots[0].commandLists[{i}]"
        if len(commands) > MAX_COMMANDS:
            problems.append(f"{where}: {len(commands)} commands; Teams shows at most {MAX_COMMANDS}")
        for j, command in enumerate(commands):
            title = command.get("title") or ""
            description = command.get("description") or ""
            if not title:
                problems.append(f"{where}.commands[{j}]: title is required")
            if len(title) > MAX_COMMAND_TITLE:
                problems.append(
                    f"{where}.commands[{j}].title: {title!r} is {len(title)} characters; at most {MAX_COMMAND_TITLE}"
                )
            if len(description) > MAX_COMMAND_DESCRIPTION:
                problems.append(
                    f"{where}.commands[{j}].description: {len(description)} characters; "
                    f"at most {MAX_COMMAND_DESCRIPTION}"
                )
    return problems


def check_manifest(
    manifest: dict[str, Any],
    icons: dict[str, bytes],
    *,
    app_id: str | None = None,
    schema_path: Path | None = None,
) -> list[str]:
    """Human-readable problems with a Teams manifest and its icons; empty when it is fine.

    `icons` maps package file names (as named in `manifest["icons"]`) to their bytes.
    When `app_id` is given, both `id` and `bots[0].botId` must equal it; otherwise
    `botId` must equal `id`. The JSON Schema check runs when the schema file is found
    (`schema_path`, else `find_schema()`).
    """
    problems: list[str] = []
    for key in REQUIRED_TOP_LEVEL:
        if key not in manifest:
            problems.append(f"{key}: required field is missing")

    if manifest.get("$schema", SCHEMA_URL) != SCHEMA_URL:
        problems.append(f"$schema: must be {SCHEMA_URL}")
    if "manifestVersion" in manifest and manifest["manifestVersion"] != MANIFEST_VERSION:
        # The schema says so with "const", which draft-04 validators ignore.
        problems.append(f"manifestVersion: must be {MANIFEST_VERSION!r}, not {manifest['manifestVersion']!r}")
    if "version" in manifest and not SEMVER_RE.match(str(manifest["version"])):
        problems.append(f"version: {manifest['version']!r} must be MAJOR.MINOR.PATCH")
    if "id" in manifest:
        if not is_guid(manifest["id"]):
            problems.append(f"id: {manifest['id']!r} is not a GUID")
        elif app_id is not None and manifest["id"].lower() != app_id.lower():
            problems.append(f"id: {manifest['id']!r} is not the bot's app id {app_id!r}")
    if "accentColor" in manifest and not HEX_COLOR_RE.match(str(manifest["accentColor"])):
        problems.append(f"accentColor: {manifest['accentColor']!r} must look like #RRGGBB")

    developer = manifest.get("developer")
    if isinstance(developer, Mapping):
        for key in ("name", "websiteUrl", "privacyUrl", "termsOfUseUrl"):
            value = developer.get(key)
            if not value:
                problems.append(f"developer.{key}: required field is missing")
            elif key.endswith("Url") and not str(value).lower().startswith("https://"):
                # The schema accepts http://; Teams store validation and admins want https.
                problems.append(f"developer.{key}: {value!r} must be an https:// URL")
    name = manifest.get("name")
    if isinstance(name, Mapping) and not name.get("short"):
        problems.append("name.short: required field is missing")
    description = manifest.get("description")
    if isinstance(description, Mapping):
        for key in ("short", "full"):
            if not description.get(key):
                problems.append(f"description.{key}: required field is missing")

    if "bots" in manifest:
        problems.extend(_bot_problems(manifest, app_id))

    icon_names = manifest.get("icons")
    if isinstance(icon_names, Mapping):
        for kind in ICON_SIZES:
            icon_name = icon_names.get(kind)
            if not icon_name:
                problems.append(f"icons.{kind}: required field is missing")
                continue
            if "/" in icon_name or "\\" in icon_name:
                problems.append(f"icons.{kind}: {icon_name!r} must be a file at the package root")
            problems.extend(_icon_problems(kind, icon_name, icons.get(icon_name)))

    schema_file = schema_path or find_schema()
    if schema_file is not None:
        problems.extend(_schema_problems(manifest, schema_file))
    return problems


def load_template(manifest_dir: Path | None = None) -> dict[str, Any]:
    directory = manifest_dir or DEFAULT_MANIFEST_DIR
    return json.loads((directory / TEMPLATE_NAME).read_text(encoding="utf-8"))


def fill_template(template: Mapping[str, Any], app_id: str) -> dict[str, Any]:
    """The template with the app id and the bot id set to `app_id`, and every command list the command
    registry's menu (dialogs.commands), whatever the template says (`eoi-bot manifests` keeps it the same)."""
    manifest = copy.deepcopy(dict(template))
    manifest["id"] = app_id
    for bot in manifest.get("bots") or []:
        bot["botId"] = app_id
        for command_list in bot.get("commandLists") or []:
            command_list["commands"] = teams_commands()
    return manifest


def build_package(app_id: str, out: Path, *, manifest_dir: Path | None = None) -> list[str]:
    """Fill the template with `app_id`, check it, and write the zip to `out`.

    `app_id` is the Microsoft App ID of the Azure Bot registration (a GUID); it becomes
    both the Teams app id and the bot id. Nothing is written when there are problems,
    which are returned (empty list = success).
    """
    app_id = app_id.strip()
    if not is_guid(app_id):
        return [
            f"app id {app_id!r} is not a GUID; use the Microsoft App ID of the Azure Bot "
            "registration (like 12345678-abcd-4ef0-9abc-1234567890ab)"
        ]
    if app_id == PLACEHOLDER_ID:
        return ["app id is the all-zero placeholder; use the Microsoft App ID of the Azure Bot registration"]

    directory = manifest_dir or DEFAULT_MANIFEST_DIR
    try:
        template = load_template(directory)
    except (OSError, ValueError) as exc:
        return [f"could not read {directory / TEMPLATE_NAME}: {exc}"]
    manifest = fill_template(template, app_id)

    icons: dict[str, bytes] = {}
    icon_names = manifest.get("icons")
    if isinstance(icon_names, Mapping):
        for kind in ICON_SIZES:
            icon_name = icon_names.get(kind)
            if isinstance(icon_name, str) and (directory / icon_name).is_file():
                icons[icon_name] = (directory / icon_name).read_bytes()

    problems = check_manifest(manifest, icons, app_id=app_id)
    if problems:
        return problems

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary file and rename, so a failure never leaves half a zip behind.
    fd, tmp_name = tempfile.mkstemp(prefix=".teams-package-", suffix=".zip", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            # Teams requires the three files at the zip root, not inside a folder.
            zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
            for icon_name, data in icons.items():
                zf.writestr(icon_name, data)
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="eoi-bot teams-package",
        description="Build the Microsoft Teams app package (zip) for upload to Teams.",
    )
    parser.add_argument(
        "--app-id",
        required=True,
        help="Microsoft App ID (GUID) of the Azure Bot registration; used as the app id and bot id",
    )
    parser.add_argument("--out", type=Path, default=Path("eoi-bot.zip"), help="zip to write (default eoi-bot.zip)")
    parser.add_argument(
        "--manifest-dir",
        type=Path,
        default=None,
        help="directory holding manifest.template.json and the icons (default: manifest/teams in the repo)",
    )
    args = parser.parse_args(argv)
    problems = build_package(args.app_id, args.out, manifest_dir=args.manifest_dir)
    if problems:
        print("Teams package not written:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

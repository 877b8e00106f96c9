"""The platforms' command menus, generated from the command registry (dialogs.commands): the Slack manifests'
`/eoi` usage hint and the Teams app's command lists. Nobody copies them by hand:

    eoi-bot manifests [--check]                       rewrite the committed files in manifest/ (or only say
                                                      which differ from the registry, exit 1)
    eoi-bot slack-manifest [--socket-mode] [--host H] print a Slack app manifest, for a host
    eoi-bot teams-package --app-id GUID               the Teams zip, its command lists generated here too

Only those parts are generated: everything else in the manifests (scopes, URLs, the comments saying why) is
written by hand, and kept as it is.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from dialogs.commands import slack_usage_hint, teams_commands

MANIFEST_DIR = Path(__file__).resolve().parents[1] / "manifest"
SLACK_MANIFESTS = ("slack/manifest.yaml", "slack/manifest.socket-mode.yaml")
TEAMS_TEMPLATE = "teams/manifest.template.json"

_USAGE_HINT = re.compile(r"^(?P<indent>[ \t]*usage_hint:[ \t]*).*$", re.MULTILINE)
# A Teams command list's commands, one object a line (the template's layout, kept).
_TEAMS_COMMANDS = re.compile(r'(?P<open>"commands": \[\n)(?P<body>.*?)(?P<close>\n(?P<indent>[ \t]*)\])', re.DOTALL)


def slack_manifest(text: str) -> str:
    """A Slack manifest's text with the `/eoi` slash command's usage hint the registry's."""
    hint = json.dumps(slack_usage_hint(), ensure_ascii=False)  # JSON's quoted string is YAML's too
    made, found = _USAGE_HINT.subn(lambda m: m.group("indent") + hint, text, count=1)
    if not found:
        raise ValueError("the Slack manifest has no slash command usage_hint")
    return made


def teams_template(text: str) -> str:
    """The Teams manifest template's text with every command list the registry's menu, one command a line."""

    def commands(m: re.Match[str]) -> str:
        indent = m.group("indent") + "  "
        lines = ",\n".join(indent + json.dumps(c, ensure_ascii=False) for c in teams_commands())
        return m.group("open") + lines + m.group("close")

    made, found = _TEAMS_COMMANDS.subn(commands, text)
    if not found:
        raise ValueError("the Teams manifest template has no command lists")
    return made


def generated(manifest_dir: Path = MANIFEST_DIR) -> dict[Path, tuple[str, str]]:
    """Each committed manifest: (its text now, its text generated from the registry)."""
    files = {manifest_dir / name: slack_manifest for name in SLACK_MANIFESTS} | {
        manifest_dir / TEAMS_TEMPLATE: teams_template
    }
    out = {}
    for path, make in files.items():
        text = path.read_text(encoding="utf-8")
        out[path] = (text, make(text))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="eoi-bot manifests", description="Write the command menus in manifest/ from the command registry."
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file differs")
    parser.add_argument("--manifest-dir", type=Path, default=MANIFEST_DIR)
    args = parser.parse_args(argv)
    stale = [path for path, (now, made) in generated(args.manifest_dir).items() if now != made]
    for path in stale:
        if args.check:
            print(f"{path}: its command menu is not the command registry's (eoi-bot manifests)", file=sys.stderr)
        else:
            path.write_text(generated(args.manifest_dir)[path][1], encoding="utf-8")
            print(path)
    return 1 if stale and args.check else 0


def slack_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="eoi-bot slack-manifest", description="Print the Slack app manifest, its slash command from the registry."
    )
    parser.add_argument("--socket-mode", action="store_true", help="the Socket Mode app (no request URLs)")
    parser.add_argument("--host", default="", help="the public HTTPS host of `eoi-bot serve`, for YOUR-HOST")
    args = parser.parse_args(argv)
    host = re.sub(r"^https?://", "", args.host.strip()).rstrip("/")
    if host and not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]+)?", host):
        print(f"eoi-bot slack-manifest: {args.host!r} is not a host name (for example bot.council.example)")
        return 2
    name = SLACK_MANIFESTS[1] if args.socket_mode else SLACK_MANIFESTS[0]
    text = slack_manifest((MANIFEST_DIR / name).read_text(encoding="utf-8"))
    if host:  # the URLs only: the comments go on explaining YOUR-HOST
        text = "".join(
            line if line.lstrip().startswith("#") else line.replace("YOUR-HOST", host)
            for line in text.splitlines(keepends=True)
        )
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

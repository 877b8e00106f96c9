"""Slack's Block Kit limits, checked on every payload the bot sends to the (fake) Slack Web API or a response
URL. slack_sdk's own models check what they can (`Block.parse(...).validate_json()`, `View.validate_json()`:
text lengths, modal title 24, 100 blocks per view, options per element...); the rest Slack documents but
slack_sdk doesn't check is here: 50 blocks per message, unique block ids in a message or view, unique
action ids in a block, action ids of at most 255 characters, and our own rule that a button label is at most
30 characters, past which Slack may cut it on a phone."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models import JsonObject
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from tests.fakes.slack_web_api import FakeSlackWebApi

Json = dict[str, Any]
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update")
VIEW_METHODS = ("views.open", "views.update", "views.push", "views.publish")
MAX_MESSAGE_BLOCKS = 50
MAX_TEXT = 40_000  # chat.postMessage's text
MAX_ACTION_ID = 255
READABLE_BUTTON = 30


def payloads(fake: FakeSlackWebApi) -> list[tuple[str, Json]]:
    """(where it went, the message or view) for everything the bot sent."""
    found: list[tuple[str, Json]] = []
    for call in fake.calls:
        if call.method in MESSAGE_METHODS:
            found.append((call.method, call.args))
        elif call.method in VIEW_METHODS:
            view = call.args.get("view")
            found.append((call.method, json.loads(view) if isinstance(view, str) else view))
    for name, bodies in getattr(fake, "responses", {}).items():
        found.extend((f"response_url {name}", body) for body in bodies)
    return found


def _validate(obj: Any, where: str) -> list[str]:
    """slack_sdk's validate_json on an object and everything inside it."""
    problems: list[str] = []
    if isinstance(obj, JsonObject):
        try:
            obj.validate_json()
        except SlackObjectFormationError as error:
            problems.append(f"{where}: {error}")
        for value in vars(obj).values():
            problems += _validate(value, where)
    elif isinstance(obj, list | tuple):
        for item in obj:
            problems += _validate(item, where)
    return problems


def _elements(block: Json) -> list[Json]:
    return [*block.get("elements", []), *([block["accessory"]] if "accessory" in block else [])] + (
        [block["element"]] if "element" in block else []
    )


def _twice(ids: list[str]) -> list[str]:
    return sorted({i for i in ids if ids.count(i) > 1})


def block_problems(blocks: list[Json], where: str) -> list[str]:
    problems: list[str] = []
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    problems += [f"{where}: block_id {b!r} used twice" for b in _twice(block_ids)]
    for n, raw in enumerate(blocks):
        here = f"{where} block {n} ({raw.get('type')})"
        parsed = Block.parse(raw)
        if parsed is None:
            problems.append(f"{here}: not a block slack_sdk knows")
            continue
        problems += _validate(parsed, here)
        action_ids = [e["action_id"] for e in _elements(raw) if "action_id" in e]
        problems += [f"{here}: action_id {a!r} used twice" for a in _twice(action_ids)]
        problems += [f"{here}: action_id over {MAX_ACTION_ID} characters" for a in action_ids if len(a) > MAX_ACTION_ID]
        for element in _elements(raw):
            label = (element.get("text") or {}).get("text", "") if element.get("type") == "button" else ""
            if len(label) > READABLE_BUTTON:
                problems.append(f"{here}: button {label!r} is over {READABLE_BUTTON} characters, cut on a phone")
    return problems


def problems(where: str, payload: Json) -> list[str]:
    """Every limit this message or view breaks."""
    blocks = payload.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    found = block_problems(blocks, where)
    if payload.get("type") in ("modal", "home"):
        found += _validate(View(**payload), where)
        title = (payload.get("title") or {}).get("text", "")
        if title.endswith("…"):
            found.append(f"{where}: the modal's title {title!r} is cut")
    else:
        if len(blocks) > MAX_MESSAGE_BLOCKS:
            found.append(f"{where}: {len(blocks)} blocks, over a message's {MAX_MESSAGE_BLOCKS}")
        if len(payload.get("text") or "") > MAX_TEXT:
            found.append(f"{where}: text over {MAX_TEXT} characters")
    return found


def all_problems(fake: FakeSlackWebApi) -> list[str]:
    return [p for where, payload in payloads(fake) for p in problems(where, payload)]

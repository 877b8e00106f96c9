"""people.conversation: where each person's conversation is waiting, one typed state (dialogs.conversation_state)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:30:00

Before, it lived in three places: `people.pending` (free JSON: which EOI the person works on, whether they are in
the EOI dialog, a reading or a cancel waiting for yes or no, times being asked for), and on the EOI, `cursor` (the
question the dialog is on, "review" or "declaration") and `changing` (an answer being changed from the review).
Each person's state now says all of it, stored as `{"v": 1, "state": ...}`. Every live conversation is carried
over: a person mid-question, at the review or the declaration, changing an answer, asked to confirm a reading or
a cancel, or asked which times suit carries on at the same place after the upgrade. Then the old columns go.

The old columns are dropped in place (SQLite 3.35 or later drops a column with ALTER TABLE): rebuilding `people`
or `eois` under SQLite would drop the old table first, which deletes every school link that refers to a person
(ON DELETE CASCADE) and breaks the references to each EOI.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns the data steps read and write, as they are at this revision.
PEOPLE = sa.table(
    "people",
    sa.column("id", sa.Integer()),
    sa.column("school_urn", sa.String()),
    sa.column("pending", sa.JSON()),
    sa.column("conversation", sa.JSON()),
)
EOIS = sa.table(
    "eois",
    sa.column("id", sa.Integer()),
    sa.column("school_urn", sa.String()),
    sa.column("status", sa.String()),
    sa.column("cursor", sa.String()),
    sa.column("changing", sa.Boolean()),
)
REVIEW, DECLARATION = "review", "declaration"


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("conversation", sa.JSON(), server_default="{}", nullable=False))
    eois = {row.id: row for row in conn.execute(sa.select(EOIS))}
    # A person who hadn't said which EOI was working on the school's newest draft (storage.eois.school_eoi).
    newest_draft: dict[str, int] = {}
    for row in sorted(eois.values(), key=lambda row: row.id):
        if row.status == "draft":
            newest_draft[row.school_urn] = row.id
    for person_id, school_urn, pending in conn.execute(sa.select(PEOPLE.c.id, PEOPLE.c.school_urn, PEOPLE.c.pending)):
        state = _state(pending or {}, eois, newest_draft.get(school_urn or ""))
        conn.execute(sa.update(PEOPLE).where(PEOPLE.c.id == person_id).values(conversation=state))
    with op.batch_alter_table("people", recreate="never") as batch:
        batch.drop_column("pending")
    with op.batch_alter_table("eois", recreate="never") as batch:
        batch.drop_column("changing")
        batch.drop_column("cursor")


def _state(pending: dict[str, Any], eois: dict[int, Any], newest_draft: int | None) -> dict[str, Any]:
    """The state (version 1) of a person whose old `pending` was this, with the place their EOI's cursor held."""
    said = pending.get("eoi")
    eoi_id = said if isinstance(said, int) and said in eois else None
    state: dict[str, Any] = {"v": 1, "state": "idle"}
    dialog, confirm = pending.get("dialog"), pending.get("confirm")
    if dialog == "another time" and isinstance(pending.get("times_for"), int):
        state.update(state="awaiting times", times_for=pending["times_for"])
    elif dialog == "eoi" and confirm == "cancel":
        state["state"] = "confirming cancel"
    elif dialog == "eoi" and confirm == "answer" and pending.get("question"):
        state["state"] = "checking answer"
        state["reading"] = {
            "question": str(pending["question"]),
            "value": pending.get("value"),
            "note": pending.get("note", ""),
            "also": pending.get("also") or {},
        }
    elif dialog == "eoi":
        state["state"] = "filling in"
    place_of = eoi_id if eoi_id is not None else newest_draft
    if eoi_id is not None:
        state["eoi"] = eoi_id
    if place_of is not None:
        state.update(_place(eois[place_of].cursor or "", bool(eois[place_of].changing)))
    return state


def _place(cursor: str, changing: bool) -> dict[str, str]:
    if cursor == REVIEW:
        return {"place": "reviewing"}
    if cursor == DECLARATION:
        return {"place": "declaring"}
    if cursor:
        return {"place": "changing" if changing else "answering", "question": cursor}
    return {}


def downgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("eois") as batch:
        batch.add_column(sa.Column("cursor", sa.String(length=60), server_default="", nullable=False))
        batch.add_column(sa.Column("changing", sa.Boolean(), server_default="0", nullable=False))
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("pending", sa.JSON(), server_default="{}", nullable=False))
    for person_id, state in conn.execute(sa.select(PEOPLE.c.id, PEOPLE.c.conversation)):
        pending, cursor = _pending(state or {})
        conn.execute(sa.update(PEOPLE).where(PEOPLE.c.id == person_id).values(pending=pending))
        if cursor is not None and isinstance(pending.get("eoi"), int):
            at, changing = cursor
            conn.execute(sa.update(EOIS).where(EOIS.c.id == pending["eoi"]).values(cursor=at, changing=changing))
    with op.batch_alter_table("people", recreate="never") as batch:
        batch.drop_column("conversation")


def _pending(state: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, bool] | None]:
    """The old `pending` for a version 1 state, and the cursor and changing flag of its EOI (None: not known)."""
    pending: dict[str, Any] = {"eoi": state["eoi"]} if isinstance(state.get("eoi"), int) else {}
    kind = state.get("state")
    if kind == "awaiting times":
        pending.update(dialog="another time", times_for=state.get("times_for"))
    elif kind == "confirming cancel":
        pending.update(dialog="eoi", confirm="cancel")
    elif kind == "checking answer":
        pending.update(dialog="eoi", confirm="answer", **(state.get("reading") or {}))
    elif kind == "filling in":
        pending["dialog"] = "eoi"
    place = state.get("place")
    cursor = {"reviewing": (REVIEW, False), "declaring": (DECLARATION, False)}.get(place or "")
    if place in ("answering", "changing"):
        cursor = (str(state.get("question") or ""), place == "changing")
    return pending, cursor

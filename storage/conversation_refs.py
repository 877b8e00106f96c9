"""Stored places to reach people and channels later (proactive messages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationRef


async def remember(
    session: AsyncSession,
    *,
    platform: str,
    key: str,
    scope: str,
    reference: dict[str, Any],
    now: datetime,
    user_id: str = "",
) -> ConversationRef:
    ref = await session.scalar(
        select(ConversationRef).where(ConversationRef.platform == platform, ConversationRef.key == key)
    )
    if ref is None:
        ref = ConversationRef(
            platform=platform, key=key, scope=scope, user_id=user_id, reference=reference, updated_at=now
        )
        session.add(ref)
    else:
        ref.scope, ref.reference, ref.updated_at = scope, dict(reference), now
        ref.user_id = user_id or ref.user_id
    return ref


async def find(session: AsyncSession, *, platform: str, key: str) -> ConversationRef | None:
    return await session.scalar(
        select(ConversationRef).where(ConversationRef.platform == platform, ConversationRef.key == key)
    )

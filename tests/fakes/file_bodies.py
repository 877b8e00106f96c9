"""A sent file's bytes as a platform's file host serves them, for the fakes: whole, or dropped part-way (fewer
bytes than Content-Length said, then the connection closes), as a real download can be."""

from __future__ import annotations

from aiohttp import web


async def serve(request: web.Request, data: bytes, *, drop_after: int | None = None) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = len(data)
    await response.prepare(request)
    if drop_after is None:
        await response.write(data)
        await response.write_eof()
        return response
    await response.write(data[:drop_after])
    assert request.transport is not None
    request.transport.close()
    return response

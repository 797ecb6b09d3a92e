"""An export from first page to last: into a file (the CLI) or as byte chunks (HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from gateway.export.paging import ExportRun, Page
from gateway.export.writers import ByteSink, ChunkSink, Format, RowWriter, open_writer


async def write_export(
    run: ExportRun,
    format: Format,
    sink: ByteSink,
    on_page: Callable[[Page], None] | None = None,
) -> int:
    """Write every page of ``run`` to ``sink`` in ``format`` as it arrives (``on_page``
    is told of each page after it is written); returns the number of rows."""
    async for _ in _written(run, format, sink, on_page):
        pass
    return run.rows_done


async def stream_export(run: ExportRun, format: Format) -> AsyncIterator[bytes]:
    """The export file as chunks: one per page (the header with the first), then the end
    (Parquet's footer). The first chunk is ready only when the first page ran, so a
    caller that awaits it sees a failing document before anything was sent."""
    sink = ChunkSink()
    async for _ in _written(run, format, sink, None):
        chunk = sink.take()
        if chunk:
            yield chunk
    chunk = sink.take()
    if chunk:
        yield chunk


async def _written(
    run: ExportRun,
    format: Format,
    sink: ByteSink,
    on_page: Callable[[Page], None] | None,
) -> AsyncIterator[Page]:
    """Each page, after it was written; the writer is closed after the last."""
    writer: RowWriter | None = None
    async for page in run.pages():
        if writer is None:
            writer = open_writer(format, sink, run.columns)
        writer.write_page(page.rows)
        if on_page is not None:
            on_page(page)
        yield page
    if writer is None:  # pages() always yields one page; kept for safety
        writer = open_writer(format, sink, run.columns)
    writer.close()

"""A loopback IMAP proxy that drops the connection in the middle of a FETCH of message bodies.

It forwards bytes both ways and watches what the client asks. Once the client
sends a FETCH for `BODY.PEEK[]`, it lets `after_bytes` of the server's answer
through and then aborts both sides, as a server crash or a NAT box would. The
first `cuts` such FETCHes are cut; after that it forwards faithfully.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class FetchCutter:
    def __init__(self, target_port: int, *, cuts: int, after_bytes: int = 1500) -> None:
        self._target_port = target_port
        self.cuts_left = cuts
        self.cut = 0
        self._after_bytes = after_bytes
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                "127.0.0.1", self._target_port
            )
        except OSError:
            writer.close()
            return
        fetching = asyncio.Event()

        def abort() -> None:
            writer.transport.abort()
            server_writer.transport.abort()

        async def from_client() -> None:
            while data := await reader.read(65536):
                if b"BODY.PEEK[]" in data.upper() and self.cuts_left > 0:
                    self.cuts_left -= 1
                    fetching.set()
                server_writer.write(data)
                await server_writer.drain()
            server_writer.close()

        async def from_server() -> None:
            answered = 0
            while data := await server_reader.read(512):
                if fetching.is_set():
                    answered += len(data)
                    if answered > self._after_bytes:
                        self.cut += 1
                        abort()
                        return
                writer.write(data)
                await writer.drain()
            writer.close()

        with contextlib.suppress(OSError, asyncio.CancelledError):
            await asyncio.gather(from_client(), from_server())

    def close(self) -> None:
        async def shut() -> None:
            self._server.close()
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

"""A fault-injecting TCP proxy on loopback, between a kiosk's client and the central service.

Faults act on real sockets, so the client meets them exactly as it would a
flaky network: refused or reset connections, a stall, an HTTP error status
from a failing front end, or a response lost after the service has acted on
the request (the acknowledgement that never arrives).

Modes (``proxy.mode = …``, changeable at any time):

``pass``            forward both ways
``refuse``          accept and close at once (service down behind a load balancer)
``reset_mid``       forward ``reset_after`` bytes of the request, then reset
``stall``           accept and never answer (the client's timeout fires)
``http_500``, ``http_503``  answer that status without forwarding
``lose_response``   forward the request and wait for the whole response, then close without sending it
"""

from __future__ import annotations

import socket
import struct
import threading

from tests.threads import HelperThreads


class FaultProxy:
    """A context manager: leaving it closes every connection and joins the proxy's threads, raising
    what any of them raised (a fault's own ``OSError`` is part of the fault and is not raised)."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.reset_after = 4096
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._threads = HelperThreads()
        self._stop = self._threads.stop
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> "FaultProxy":
        self._threads.__enter__()
        self._threads.start(self._accept, name="proxy-accept")
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        with self._lock:
            sockets = [self._server, *self._sockets]
        for sock in sockets:  # wakes every thread blocked in accept or recv
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._threads.__exit__(*exc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _kept(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            self._threads.start(self._handle, self._kept(client), self.mode, name=f"proxy-{self.mode}")

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        # A thread blocked in recv on it would not see a close: SHUT_RD wakes it, and sends nothing.
        sock.shutdown(socket.SHUT_RD)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
        sock.close()

    def _handle(self, client: socket.socket, mode: str) -> None:
        try:
            self._serve(client, mode)
        except OSError:
            pass  # a connection the proxy broke, or the client or the proxy's exit closed: the fault itself

    def _serve(self, client: socket.socket, mode: str) -> None:
        if mode == "refuse":
            self._reset(client)
            return
        if mode == "stall":
            self._stop.wait()
            client.close()
            return
        if mode in ("http_500", "http_503"):
            client.recv(65536)
            status = "500 Internal Server Error" if mode == "http_500" else "503 Service Unavailable"
            client.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            client.close()
            return
        upstream = self._kept(socket.create_connection(self.target))
        if mode == "lose_response":
            self._lose_response(client, upstream)
            return
        budget = self.reset_after if mode == "reset_mid" else None
        self._threads.start(self._pipe, upstream, client, None, name="proxy-pipe")
        self._pipe(client, upstream, budget)

    def _pipe(self, src: socket.socket, dst: socket.socket, budget: int | None) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if budget is not None:
                    if len(data) >= budget:
                        dst.sendall(data[:budget])
                        self._reset(src)
                        self._reset(dst)
                        return
                    budget -= len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _lose_response(self, client: socket.socket, upstream: socket.socket) -> None:
        """Forward the whole request (its ``Content-Length`` says where it ends, however slowly it
        comes); wait for the service's answer, so it has acted; drop it and reset the client."""
        request = b""
        while b"\r\n\r\n" not in request:
            data = client.recv(65536)
            if not data:
                return
            request += data
        head, _, body = request.partition(b"\r\n\r\n")
        lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        missing = (int(lengths[0]) if lengths else 0) - len(body)
        while missing > 0:
            data = client.recv(min(missing, 65536))
            if not data:
                return
            request += data
            missing -= len(data)
        upstream.sendall(request)
        upstream.recv(65536)  # the service has answered, so it has acted
        self._reset(client)
        upstream.close()

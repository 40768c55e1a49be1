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


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.reset_after = 4096
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(client, self.mode), daemon=True).start()

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
        sock.close()

    def _handle(self, client: socket.socket, mode: str) -> None:
        if mode == "refuse":
            self._reset(client)
            return
        if mode == "stall":
            self._stop.wait(120)
            client.close()
            return
        if mode in ("http_500", "http_503"):
            client.recv(65536)
            status = "500 Internal Server Error" if mode == "http_500" else "503 Service Unavailable"
            client.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            client.close()
            return
        upstream = socket.create_connection(self.target)
        if mode == "lose_response":
            self._lose_response(client, upstream)
            return
        budget = self.reset_after if mode == "reset_mid" else None
        threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()
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
        """Forward the request; read the service's whole response; drop it and reset the client."""
        client.settimeout(0.5)
        upstream.settimeout(10)
        try:
            while True:
                try:
                    data = client.recv(65536)
                except socket.timeout:
                    break
                if not data:
                    break
                upstream.sendall(data)
            upstream.recv(65536)  # the service has answered, so it has acted
        except OSError:
            pass
        self._reset(client)
        upstream.close()

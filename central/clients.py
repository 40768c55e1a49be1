"""Who a request comes from: the address the throttles count and the audit records.

``kiosk-central serve`` hands uvicorn the trusted proxies of
``KIOSK_CENTRAL_TRUSTED_PROXIES`` (``central.server``; the loopback's when
unset, for the documented nginx on the same host): from one of them,
uvicorn takes the client from ``X-Forwarded-For`` (the nearest address no
trusted proxy added); from anyone else, the header is ignored, so a client
cannot escape its throttle by writing one. With ``none``, the address is
the connection's.
"""

from __future__ import annotations

from fastapi import Request


def client_address(request: Request) -> str:
    return request.client.host[:64] if request.client else ""

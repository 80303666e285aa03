"""Which limits the edge (bot/edge.py) applies to which of `crm-bot run`'s routes, and uvicorn's options."""
from __future__ import annotations

import importlib.util
import logging

from bot.edge import (MAX_CONNECTIONS, Answer, Edge, RouteLimits, edge_protocol, raise_open_files_limit,
                      secret_header_check, slack_headers_check, slack_signature_check)

SLACK_MAX_BODY = 1024 * 1024  # a view_submission of a full 100-block modal is well under this
TELEGRAM_MAX_BODY = 512 * 1024  # an update holds at most a 4,096-character message and its entities
SMALL_BODY = 1024  # GET routes (/healthz, /metrics) take no body
OTHER_BODY = 64 * 1024

Webhook = tuple[str, str, Answer]  # (its secret header, the secret, the function that answers a POST at the edge)


def route_limits(settings, webhooks: dict[str, Webhook] | None = None) -> dict[str, RouteLimits]:
    """``webhooks``: path → (secret header, its secret, ``RouteLimits.answer``) of the webhook routes adapters
    answer themselves at the edge (Telegram's)."""
    limits = {"/healthz": RouteLimits(SMALL_BODY), "/metrics": RouteLimits(SMALL_BODY)}
    if settings.slack_enabled and not settings.slack_app_token:
        limits["/slack/events"] = RouteLimits(
            SLACK_MAX_BODY, before_body=slack_headers_check(),
            after_body=slack_signature_check(settings.slack_signing_secret or ""))
    for path, (header, secret, answer) in (webhooks or {}).items():
        limits[path] = RouteLimits(TELEGRAM_MAX_BODY, before_body=secret_header_check(header, secret), answer=answer)
    return limits


def edge_for(settings, inner, webhooks: dict[str, Webhook] | None = None) -> Edge:
    return Edge(inner, routes=route_limits(settings, webhooks), default=RouteLimits(OTHER_BODY))


def uvicorn_options(edge: Edge | None = None, metrics=None) -> dict:
    """Header deadline and connection cap in the protocol; idle keep-alive connections closed after 5 s;
    ``edge``'s answered routes (and their ``metrics``) served by the protocol itself (``bot.edge.edge_protocol``).

    uvicorn's own ``limit_concurrency`` is not used: past it, uvicorn answers 503 to *new*
    requests (health checks and Slack included) while the stalled connections stay; ours sheds
    the connection that has waited longest for its headers instead.
    """
    raise_open_files_limit(MAX_CONNECTIONS + 1024)
    # no "server: uvicorn" header: what we run is nobody's business outside
    options: dict = {"timeout_keep_alive": 5, "h11_max_incomplete_event_size": 16 * 1024, "server_header": False}
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = edge_protocol(edge=edge, metrics=metrics)
    else:  # pragma: no cover - httptools is a dependency; h11 still gets the ASGI edge
        logging.getLogger("crm.edge").warning("httptools missing: no header deadline or connection cap")
    return options


def uvicorn_config(asgi, host: str, port: int, edge: Edge | None = None, metrics=None):
    """`crm-bot run`'s server: the edge protocol (``edge``: the app's ``Edge``, see ``uvicorn_options``), and
    uvicorn's loggers left unconfigured (``log_config=None``) so their records propagate to ours, through the
    redaction filter."""
    import uvicorn

    config = uvicorn.Config(asgi, host=host, port=port, log_level="warning", lifespan="on", log_config=None,
                            **uvicorn_options(edge, metrics))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        own = logging.getLogger(name)  # handlers of an earlier dictConfig would write unfiltered
        own.handlers.clear()
        own.propagate = True
    return config

"""Request and response shapes of ``POST /api/track``.

The body is parsed by hand (each event is validated on its own so that one bad event
does not fail its batch); :class:`TrackEvent` documents it in OpenAPI.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from siyu.tracking.rules import MAX_BATCH_EVENTS


class TrackEvent(BaseModel):
    event_id: str = Field(
        description="客户端生成的唯一 ID，重试时不变 / Unique per event, kept on retries",
        pattern=r"^[A-Za-z0-9_.:-]{8,64}$",
    )
    event: str = Field(
        description="事件名，如 $pageview、add_to_cart / Event name",
        pattern=r"^[$a-z][a-z0-9_.:$-]{0,63}$",
    )
    anonymous_id: str = Field(
        description="设备匿名 ID / Device id", pattern=r"^[A-Za-z0-9_.:-]{8,64}$"
    )
    shopper_id: int | None = Field(default=None, ge=1)
    client_time: str | int = Field(
        description="客户端时间：带时区 ISO 8601 或毫秒时间戳 / ISO 8601 with offset or epoch ms"
    )
    page: str | None = Field(default=None, max_length=512)
    referrer: str | None = Field(default=None, max_length=512)
    scene: int | None = Field(
        default=None, ge=1000, le=9999, description="微信场景值 / WeChat scene"
    )
    query: dict[str, str] | None = Field(
        default=None, description="页面参数：c、scene、q、sharer_id、share_depth / Page query"
    )
    properties: dict[str, Any] | None = Field(default=None, description="≤ 8 KB JSON")


def track_body_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["batch"],
        "properties": {
            "sent_at": {
                "anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}],
                "description": "发送时间，用于校正客户端时钟 / When the batch was sent (clock skew)",
            },
            "batch": {
                "type": "array",
                "maxItems": MAX_BATCH_EVENTS,
                "items": TrackEvent.model_json_schema(),
            },
        },
    }


class TrackRejection(BaseModel):
    index: int
    code: str
    message: str


class TrackResponse(BaseModel):
    accepted: int
    rejected: list[TrackRejection]

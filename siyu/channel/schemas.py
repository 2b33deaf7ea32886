"""Request and response bodies of the channel admin API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from siyu.channel.rules import GROUPS, MAX_SPEND_FEN
from siyu.fields import not_null

GROUP_HELP = "渠道分组 / channel group: " + ", ".join(GROUPS)


class ChannelCreate(BaseModel):
    code: str = Field(
        pattern=r"^[0-9A-Za-z_-]{1,20}$", description="渠道码，1–20 位 0-9 A-Z a-z _ -"
    )
    name: str = Field(min_length=1, max_length=64)
    group: str = Field(description=GROUP_HELP)
    note: str = Field(default="", max_length=500)


class ChannelUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    group: str | None = Field(default=None, description=GROUP_HELP)
    note: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None

    _present = field_validator("name", "group", "note", "is_active", mode="before")(not_null)


class ChannelOut(BaseModel):
    id: int
    code: str
    name: str
    group: str
    note: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    mini_program_scene: str = Field(description="小程序码 scene 参数 / wxacode scene")
    storefront_url: str = Field(description="H5 商城推广链接 / storefront link to print")


class SpendIn(BaseModel):
    amount_fen: int = Field(ge=0, le=MAX_SPEND_FEN, description="当日花费（分）")


class SpendOut(BaseModel):
    channel_id: int
    code: str
    day: date
    amount_fen: int
    updated_at: datetime

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Fields an address cannot be without: PATCH may leave them out, never null them.
REQUIRED_FIELDS = ("name", "phone", "province", "city", "district", "detail", "is_default")


class AddressCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=32, description="收货人")
    phone: str = Field(min_length=1, max_length=20, description="手机号（11 位，1[3-9] 开头）")
    province: str = Field(min_length=1, max_length=32)
    city: str = Field(min_length=1, max_length=32)
    district: str = Field(default="", max_length=32)
    detail: str = Field(min_length=1, max_length=200, description="详细地址")
    postal_code: str | None = Field(default=None, max_length=6, description="邮编（6 位，选填）")
    is_default: bool = Field(default=False, description="设为默认地址；第一个地址总是默认")


class AddressUpdate(BaseModel):
    """Only the fields given change; ``is_default: true`` makes this the default."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=32)
    phone: str | None = Field(default=None, min_length=1, max_length=20)
    province: str | None = Field(default=None, min_length=1, max_length=32)
    city: str | None = Field(default=None, min_length=1, max_length=32)
    district: str | None = Field(default=None, max_length=32)
    detail: str | None = Field(default=None, min_length=1, max_length=200)
    postal_code: str | None = Field(default=None, max_length=6)
    is_default: bool | None = None

    @field_validator(*REQUIRED_FIELDS)
    @classmethod
    def _not_null(cls, value: object) -> object:
        # runs only for the fields sent: leaving one out keeps it, null would erase it
        if value is None:
            raise ValueError("may be left out, not null")
        return value


class AddressOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str | None
    is_default: bool
    created_at: datetime
    updated_at: datetime

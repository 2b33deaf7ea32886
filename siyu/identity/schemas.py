from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from siyu.fields import not_null
from siyu.identity.rules import Role


class LoginRequest(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="wx.login() 返回的 code")
    scene: int | None = Field(default=None, description="启动场景值 options.scene")
    qr_scene: str | None = Field(
        default=None, max_length=128, description="小程序码 scene 参数（如 c=AB12&s=9）"
    )
    sharer_id: int | None = Field(default=None, description="分享者用户 ID（分享路径参数）")
    nickname: str | None = Field(
        default=None,
        max_length=64,
        description="「头像昵称填写」的昵称（沙箱：输入的登录码）；新用户或昵称为空时保存，"
        "规则同修改昵称：1–20 个字，不含控制字符",
    )


class ShopperOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    nickname: str
    avatar_url: str
    registered_at: datetime
    phone_bound: bool = False
    phone_masked: str | None = None


class LoginResponse(BaseModel):
    token: str
    expires_at: datetime
    is_new: bool
    shopper: ShopperOut


class ProfileUpdate(BaseModel):
    """修改昵称、头像（小程序「头像昵称填写」后提交）；未给出的字段不变。"""

    model_config = ConfigDict(extra="forbid")

    nickname: str | None = Field(
        default=None, max_length=64, description="1–20 个字，不含控制字符；连续空白合为一个空格"
    )
    avatar_url: str | None = Field(
        default=None, max_length=512, description="https 图片地址；空字符串表示清除"
    )

    _present = field_validator("nickname", "avatar_url", mode="before")(not_null)


class PhoneBindRequest(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="getPhoneNumber 返回的 code")


class PhoneBindResponse(BaseModel):
    phone_masked: str


class OperatorLoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class OperatorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class OperatorLoginResponse(BaseModel):
    token: str
    expires_at: datetime
    operator: OperatorOut
    permissions: list[str]


class OperatorCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(default="", max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: Role


class OperatorUpdate(BaseModel):
    role: Role | None = None
    is_active: bool | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=64)


class PasswordChange(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class AuditLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    operator_id: int
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime

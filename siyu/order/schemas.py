from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from siyu.address.regions import region_problem
from siyu.address.rules import CN_MOBILE_MESSAGE, is_cn_mobile
from siyu.order.rules import OrderStatus


class AddressIn(BaseModel):
    name: str = Field(min_length=1, max_length=32, description="收货人")
    phone: str = Field(max_length=20, description="手机号（11 位，1[3-9] 开头）")
    province: str = Field(min_length=1, max_length=32)
    city: str = Field(min_length=1, max_length=32)
    district: str = Field(default="", max_length=32)
    detail: str = Field(min_length=1, max_length=200, description="详细地址")
    postal_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$", description="邮编（选填）")

    @field_validator("phone")
    @classmethod
    def _mobile(cls, phone: str) -> str:
        """The address book's rule and message: a mainland mobile number."""
        if not is_cn_mobile(phone):
            raise ValueError(CN_MOBILE_MESSAGE)
        return phone

    @field_validator("province", "city", "district")
    @classmethod
    def _real_place(cls, value: str, info: ValidationInfo) -> str:
        """The address book's rule: a real 省/市/区, each checked once the ones before
        it are known (so the error names the first field that does not fit)."""
        levels = ("province", "city", "district")
        before = levels[: levels.index(str(info.field_name))]
        if any(f not in info.data for f in before):
            return value  # an earlier field already failed; it carries the message
        place = [info.data[f] for f in before] + [value] + [""] * (2 - len(before))
        problem = region_problem(*place)
        if problem is not None and problem[0] == info.field_name:
            raise ValueError(problem[1])
        return value


class OrderItemIn(BaseModel):
    sku_id: int
    quantity: int = Field(ge=1, le=99)


class PlaceOrder(BaseModel):
    """Either ``items`` (buy now) or ``cart_item_ids`` (check out those cart lines)."""

    items: list[OrderItemIn] | None = Field(default=None, min_length=1, max_length=50)
    cart_item_ids: list[int] | None = Field(default=None, min_length=1, max_length=100)
    address: AddressIn | None = Field(
        default=None, description="新填写的收货地址；与 address_id 二选一，都省略则用默认地址"
    )
    address_id: int | None = Field(
        default=None, ge=1, description="我的收货地址 id（必须是自己的地址）；订单保存地址快照"
    )
    note: str = Field(default="", max_length=200)
    coupon_ids: list[int] | None = Field(
        default=None,
        max_length=5,
        description="要用的优惠券（我的优惠券 id）；省略则自动选最优，[] 表示不用券",
    )
    use_points: bool = False
    expected_total_fen: int | None = Field(
        default=None,
        ge=0,
        description="结算页显示的应付金额；与重新计算的结果不一致时拒绝下单（409 quote_changed）",
    )

    @model_validator(mode="after")
    def _one_source(self) -> PlaceOrder:
        if (self.items is None) == (self.cart_item_ids is None):
            raise ValueError("give either items (buy now) or cart_item_ids (from the cart)")
        if self.address is not None and self.address_id is not None:
            raise ValueError("give either address (typed) or address_id (saved), not both")
        return self


class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku_id: int
    product_id: int
    title: str
    spec: dict[str, Any]
    image_url: str
    unit_price_fen: int
    quantity: int
    discount_fen: int
    payable_fen: int
    refunded_fen: int
    refunded_quantity: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_no: str
    status: OrderStatus
    subtotal_fen: int
    discount_fen: int
    shipping_fen: int
    total_fen: int
    paid_fen: int
    refunded_fen: int
    address: dict[str, Any]
    note: str
    placed_at: datetime
    pay_deadline: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    carrier: str | None
    tracking_no: str | None
    open_aftersale_id: int | None
    source: str = Field(description="cart / buy_now / group_buy：下单来源（活动订单为活动类型）")
    hold: str | None = Field(
        default=None, description="暂缓发货的原因（group_buy：拼团进行中，成团后发货）"
    )
    lines: list[OrderLineOut]
    pricing: dict[str, Any]


class AdminOrderOut(OrderOut):
    shopper_id: int
    payment_provider: str | None
    transaction_id: str | None
    payment_flag: str | None
    payment_flag_detail: str | None


class ShipOrder(BaseModel):
    carrier: str = Field(min_length=1, max_length=32, description="快递公司")
    tracking_no: str = Field(
        min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="运单号"
    )


class OrderEventOut(BaseModel):
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]


class QuoteCoupon(BaseModel):
    """One of the shopper's coupons as the checkout sees it."""

    coupon_id: int
    template_id: int
    name: str
    kind: str
    valid_until: datetime | None
    usable: bool
    applied: bool
    saving_fen: int
    reason_zh: str
    reason_en: str
    missing_fen: int
    scope_zh: str = ""  # what the coupon covers: 全场通用 / 限 口红、眼影 可用
    scope_en: str = ""


class CheckoutQuoteOut(BaseModel):
    """The quote (siyu.pricing.info.Quote as JSON) and the coupon picker."""

    quote: dict[str, Any]
    coupons: list[QuoteCoupon]
    total_fen: int
    discount_fen: int
    shipping_fen: int

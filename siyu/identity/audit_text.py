"""The words of the audit log: a zh-CN and en label for every action an
:class:`~siyu.identity.audit.AuditTrail` (or ``record_audit``) writes, and a renderer
that turns an entry's before/after snapshots into readable lines
(``发货：顺丰速运 SF1234567890123``, ``价格：¥129.00 → ¥119.00``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from siyu.money import format_yuan

# action → (zh-CN, en); actions are ``<target_type>.<verb>``.
ACTIONS: dict[str, tuple[str, str]] = {
    "aftersale.approve": ("同意售后并退款", "Approved after-sale and refunded"),
    "aftersale.reject": ("拒绝售后", "Rejected after-sale"),
    "category.create": ("新建分类", "Created category"),
    "category.delete": ("删除分类", "Deleted category"),
    "category.update": ("修改分类", "Edited category"),
    "channel.create": ("新建渠道", "Created channel"),
    "channel.delete": ("删除渠道", "Deleted channel"),
    "channel.spend": ("录入渠道花费", "Recorded channel spend"),
    "channel.update": ("修改渠道", "Edited channel"),
    "coupon_template.bulk_issue": ("批量发券", "Bulk-issued coupons"),
    "coupon_template.create": ("新建优惠券", "Created coupon"),
    "coupon_template.status": ("修改优惠券状态", "Changed coupon status"),
    "coupon_template.update": ("修改优惠券", "Edited coupon"),
    "operator.change_password": ("修改密码", "Changed password"),
    "operator.create": ("新建员工账号", "Created staff account"),
    "operator.update": ("修改员工账号", "Edited staff account"),
    "order.cancel": ("取消订单", "Cancelled order"),
    "order.ship": ("发货", "Shipped order"),
    "points.adjust": ("调整积分", "Adjusted points"),
    "points_rules.update": ("修改积分规则", "Edited points rules"),
    "shopper.block": ("封禁顾客（不计入砍价）", "Blocked a shopper (no bargain cuts)"),
    "shopper.unblock": ("解除封禁顾客", "Unblocked a shopper"),
    "cue_settings.update": ("修改促单提示设置", "Edited urgency cue settings"),
    "mall_exchange.ship": ("积分兑换发货", "Shipped a points exchange"),
    "mall_item.create": ("新建积分商品", "Created points-mall item"),
    "mall_item.update": ("修改积分商品", "Edited points-mall item"),
    "lottery.create": ("新建抽奖活动", "Created lottery"),
    "lottery.update": ("修改抽奖活动", "Edited lottery"),
    "lottery.status": ("修改抽奖活动状态", "Changed lottery status"),
    "group_buy.save": ("保存拼团活动", "Saved group buy"),
    "group_buy.status": ("修改拼团活动状态", "Changed group buy status"),
    "flash_sale.save": ("保存秒杀场次", "Saved flash sale"),
    "flash_sale.item": ("保存秒杀商品", "Saved flash-sale item"),
    "flash_sale.reconcile": ("秒杀对账", "Reconciled flash sale"),
    "checkin_rule.update": ("修改签到规则", "Edited check-in rule"),
    "product.create": ("新建商品", "Created product"),
    "product.status": ("上架 / 下架商品", "Put product on / off sale"),
    "product.update": ("修改商品", "Edited product"),
    "member_program.update": ("修改会员等级配置", "Edited member tiers"),
    "promotion.create": ("新建活动", "Created promotion"),
    "promotion.status": ("修改活动状态", "Changed promotion status"),
    "promotion.update": ("修改活动", "Edited promotion"),
    "sku.create": ("新建规格", "Created SKU"),
    "sku.price": ("调整价格", "Changed price"),
    "sku.stock": ("调整库存", "Changed stock"),
    "sku.update": ("修改规格", "Edited SKU"),
}

# target type → (zh-CN, en): what an entry is about (订单 #10 / Order #10)
TARGETS: dict[str, tuple[str, str]] = {
    "aftersale": ("售后", "After-sale"),
    "category": ("分类", "Category"),
    "channel": ("渠道", "Channel"),
    "coupon_template": ("优惠券", "Coupon"),
    "operator": ("员工", "Staff"),
    "order": ("订单", "Order"),
    "product": ("商品", "Product"),
    "member_program": ("会员等级", "Member tiers"),
    "points_rules": ("积分规则", "Points rules"),
    "mall_exchange": ("积分兑换", "Points exchange"),
    "mall_item": ("积分商品", "Points-mall item"),
    "lottery": ("抽奖活动", "Lottery"),
    "group_buy": ("拼团活动", "Group buy"),
    "flash_sale": ("秒杀场次", "Flash sale"),
    "checkin_rule": ("签到规则", "Check-in rule"),
    "cue_settings": ("促单提示设置", "Urgency cue settings"),
    "promotion": ("活动", "Promotion"),
    "shopper": ("用户", "Shopper"),
    "sku": ("规格", "SKU"),
}

# snapshot field → (zh-CN, en)
FIELDS: dict[str, tuple[str, str]] = {
    "amount_fen": ("金额", "Amount"),
    "auto_fill": ("模拟成团", "Simulated members"),
    "clean": ("对账一致", "Reconciled clean"),
    "duration_minutes": ("成团时限（分钟）", "Time limit (minutes)"),
    "ends_at": ("结束时间", "Ends"),
    "free_shipping": ("包邮", "Free shipping"),
    "max_quantity": ("每人每团限购", "Units per member"),
    "new_shoppers_only": ("仅限新用户参团", "New shoppers only"),
    "payment_timeout_minutes": ("支付时限（分钟）", "Payment time limit (minutes)"),
    "per_shopper_limit": ("每人限购", "Per-shopper limit"),
    "quantity": ("数量", "Quantity"),
    "sale_price_fen": ("秒杀价", "Sale price"),
    "sku_id": ("规格", "SKU"),
    "starts_at": ("开始时间", "Starts"),
    "batch": ("批次", "Batch"),
    "social_proof_enabled": ("展示真实购买动态", "Show recent purchases"),
    "blocked": ("封禁", "Blocked"),
    "low_stock_threshold": ("库存紧张提示阈值", "Low-stock threshold"),
    "carrier": ("快递公司", "Carrier"),
    "category_id": ("分类", "Category"),
    "code": ("渠道码", "Code"),
    "cycle_days": ("签到周期（天）", "Cycle (days)"),
    "day": ("日期", "Day"),
    "decision_reason": ("处理说明", "Decision note"),
    "delta": ("变动", "Change"),
    "description": ("详情", "Description"),
    "display_name": ("姓名", "Name"),
    "earn_per_yuan": ("每元积分", "Points per yuan"),
    "expiry_years": ("有效期（年）", "Expiry (years)"),
    "group": ("分组", "Group"),
    "icon_url": ("图标", "Icon"),
    "image_url": ("图片", "Image"),
    "image_urls": ("图片", "Images"),
    "is_active": ("启用", "Active"),
    "issued": ("已发出", "Issued"),
    "kind": ("类型", "Kind"),
    "name": ("名称", "Name"),
    "note": ("备注", "Note"),
    "original_price_fen": ("划线价", "List price"),
    "out_refund_no": ("退款单号", "Refund no."),
    "parent_id": ("上级分类", "Parent"),
    "points": ("积分", "Points"),
    "price_fen": ("价格", "Price"),
    "reason": ("原因", "Reason"),
    "refund_fen": ("退款金额", "Refund"),
    "refused": ("未发出", "Refused"),
    "role": ("角色", "Role"),
    "signup_reward": ("注册送积分", "Sign-up points"),
    "sku_code": ("规格编码", "SKU code"),
    "sort_order": ("排序", "Order"),
    "spec": ("规格", "Spec"),
    "status": ("状态", "Status"),
    "stock": ("库存", "Stock"),
    "subtitle": ("副标题", "Subtitle"),
    "title": ("标题", "Title"),
    "tracking_no": ("运单号", "Tracking no."),
    "username": ("用户名", "Username"),
}

# Snapshot parts too large to read as one line: left to the raw view.
SKIPPED = frozenset({"skus", "id", "tiers"})


def _pick(pair: tuple[str, str], locale: str) -> str:
    return pair[1] if locale == "en" else pair[0]


def action_label(action: str, locale: str) -> str:
    """The action's words; an action not in the catalog shows as it is."""
    pair = ACTIONS.get(action)
    return _pick(pair, locale) if pair else action


def target_label(target_type: str, locale: str) -> str:
    """The words for a target type; one not in the catalog shows as it is."""
    pair = TARGETS.get(target_type)
    return _pick(pair, locale) if pair else target_type


def target_choices(locale: str) -> list[tuple[str, str]]:
    """(code, words) for every target type, in the catalog's order: the filter's list."""
    return [(code, _pick(pair, locale)) for code, pair in TARGETS.items()]


def field_label(name: str, locale: str) -> str:
    pair = FIELDS.get(name)
    return _pick(pair, locale) if pair else name


# The coded values a snapshot holds, by field: statuses of orders, after-sales,
# products, coupons and promotions; channel groups; staff roles.
CODED_VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "status": {
        "pending_payment": ("待支付", "awaiting payment"),
        "paid": ("已支付", "paid"),
        "shipped": ("已发货", "shipped"),
        "to_ship": ("待发货", "to ship"),
        "completed": ("已完成", "completed"),
        "cancelled": ("已取消", "cancelled"),
        "pending": ("待处理", "pending"),
        "refunding": ("退款中", "refunding"),
        "refunded": ("已退款", "refunded"),
        "rejected": ("已拒绝", "rejected"),
        "refund_failed": ("退款失败", "refund failed"),
        "draft": ("草稿", "draft"),
        "on_sale": ("在售", "on sale"),
        "off_sale": ("已下架", "off sale"),
        "active": ("进行中", "active"),
        "paused": ("已暂停", "paused"),
        "ended": ("已结束", "ended"),
        "inactive": ("已下架", "off shelf"),
    },
    "group": {
        "share": ("好友分享", "shares"),
        "group_share": ("群分享", "group shares"),
        "qr": ("扫码 / 小程序码", "QR codes"),
        "push": ("服务通知", "service messages"),
        "official_account": ("公众号", "official account"),
        "app": ("App", "app"),
        "mini_program": ("其他小程序", "other mini-programs"),
        "ads": ("广告", "ads"),
        "search": ("搜索", "search"),
        "direct": ("直接进入 / 收藏", "direct"),
        "timeline": ("朋友圈", "Moments"),
        "web": ("网页", "web"),
        "pay": ("支付", "payment"),
        "other": ("其他", "other"),
    },
    "role": {
        "owner": ("店主", "owner"),
        "operator": ("运营", "operator"),
        "analyst": ("数据分析", "analyst"),
        "support": ("客服", "support"),
    },
}


def _value(name: str, value: Any, locale: str) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    coded = CODED_VALUES.get(name, {}).get(value) if isinstance(value, str) else None
    if coded is not None:
        return coded[1] if locale == "en" else coded[0]
    if isinstance(value, bool):
        return ("yes" if value else "no") if locale == "en" else ("是" if value else "否")
    if name.endswith("_fen") and isinstance(value, int):
        return format_yuan(value)
    if isinstance(value, list):
        return "、".join(_value(name, v, locale) for v in value)
    if isinstance(value, dict):
        return "，".join(f"{k} {_value(str(k), v, locale)}" for k, v in value.items())
    return str(value)


def describe(
    action: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    locale: str,
) -> list[str]:
    """An entry's change as lines: ``名称：旧 → 新`` for each changed field, the values
    of a created or deleted row, and a sentence for shipping."""
    before, after = before or {}, after or {}
    colon = ": " if locale == "en" else "："
    if action == "order.ship" and after.get("carrier"):
        shipped = f"{after.get('carrier', '')} {after.get('tracking_no', '')}".strip()
        return [f"{action_label(action, locale)}{colon}{shipped}"]
    lines: list[str] = []
    for name in list(before) + [k for k in after if k not in before]:
        if name in SKIPPED:
            continue
        label = field_label(name, locale)
        if name in before and name in after:
            if before[name] == after[name]:
                continue
            old, new = _value(name, before[name], locale), _value(name, after[name], locale)
            lines.append(f"{label}{colon}{old} → {new}")
        else:
            value = before[name] if name in before else after[name]
            lines.append(f"{label}{colon}{_value(name, value, locale)}")
    return lines

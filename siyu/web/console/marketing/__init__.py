"""Marketing pages of the console: coupons (and the new-shopper gift pack), store
promotions, the loyalty program (会员: tiers, member day, points rules, check-in, the
points mall, lottery campaigns, a shopper's points), and the plays: group buys (拼团) and flash
sales (秒杀, with the live session board).
They share one form layer (``forms.py``); each page module only knows its own fields
and words."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.web.console.marketing import (
    coupons,
    flash_sale,
    group_buy,
    loyalty_lottery,
    loyalty_mall,
    loyalty_members,
    loyalty_settings,
    promotions,
)

ROUTERS: tuple[APIRouter, ...] = (
    promotions.router,
    coupons.router,
    group_buy.router,
    flash_sale.router,
    loyalty_settings.router,
    loyalty_mall.router,
    loyalty_lottery.router,
    loyalty_members.router,
)

"""Marketing pages of the console: coupons (and the new-shopper gift pack), store
promotions, and the coming loyalty and social tools. They share one form layer
(``forms.py``); each page module only knows its own fields and words."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.web.console.marketing import coupons, promotions

ROUTERS: tuple[APIRouter, ...] = (promotions.router, coupons.router)

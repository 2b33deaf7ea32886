"""The loyalty program's settings pages (会员): the five tiers with their benefits, the
per-SKU member prices and the yearly review (会员等级); member day (会员日); the points
rules (积分规则); the check-in rewards (签到奖励).

Each form is validated by the JSON API's own schema and saved by the same service
function as the API (``tiers.program.save_program``, ``loyalty.service.save_points_rules``,
``checkin.service.save_rule``), which refuse a bad rule whole: the page shows it again
with the words next to each field and nothing is written.

Routes: ``GET|POST /console/loyalty/tiers``, ``GET|POST /console/loyalty/member-day``,
``GET|POST /console/loyalty/points``, ``GET|POST /console/loyalty/checkin``.

Stable selectors: ``form#tiers-form`` with ``#t<level>_name_zh``, ``_name_en``,
``_threshold``, ``_discount``, ``_free_shipping`` (yuan; blank: the store's),
``_multiplier`` (percent), ``_birthday_points``, ``_birthday_coupon``, ``_priority``;
``#window_days``, ``#max_drop``, ``#sku_prices`` (one "level SKU-id price" a line),
``button#tiers-submit``. ``form#member-day-form`` with ``#days_of_month``,
``#weekday-<1..7>``, ``#md_multiplier``, ``#md_free_shipping``, ``button#member-day-submit``;
``[data-testid=next-member-day]``. ``form#points-rules-form`` with ``#earn_per_yuan``,
``#expiry_years``, ``#never_expire``, ``#signup_reward``, ``button#points-rules-submit``.
``form#checkin-form`` with ``#r<day>_points``, ``#r<day>_coupon`` (day from 1),
``#makeup_enabled``, ``#makeup_cost_points``, ``#makeups_per_month``,
``button#checkin-submit``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from siyu.errors import DomainError
from siyu.loyalty import service as points
from siyu.loyalty.checkin import service as checkin
from siyu.loyalty.checkin.rules import CheckinRule, DayReward
from siyu.loyalty.schemas import PointsRulesIn
from siyu.loyalty.tiers import program as tiers
from siyu.loyalty.tiers import service as tier_service
from siyu.loyalty.tiers.rules import LEVELS, MemberDayRule, Program, ReviewRule, TierRule
from siyu.loyalty.tiers.schemas import MemberDayIn, ProgramIn
from siyu.web.api.loyalty_games import CheckinRuleIn
from siyu.web.console.base import ConsoleUser, Feedback, redirect, render, request_locale
from siyu.web.console.forms import parse_int, parse_yuan, yuan_input
from siyu.web.console.marketing.forms import PostWriter, Reader, checkbox, words
from siyu.web.console.marketing.loyalty_forms import (
    coupon_choices,
    problem_errors,
    read_int,
    read_optional_int,
    read_optional_yuan,
    schema_errors,
)
from siyu.web.console.security import FormDep, text_field
from siyu.web.deps import CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import Translator, translator

router = APIRouter(prefix="/console/loyalty", include_in_schema=False)

TIER_FIELDS = {  # the service's name of a tier field → the form's suffix
    "name_zh": "name_zh",
    "name_en": "name_en",
    "name": "name_zh",
    "level": "name_zh",
    "threshold": "threshold",
    "discount_percent": "discount",
    "free_shipping_threshold_fen": "free_shipping",
    "points_multiplier_percent": "multiplier",
    "birthday_points": "birthday_points",
    "birthday_coupon_template_id": "birthday_coupon",
    "priority_aftersale": "priority",
}
TIER_HINTS = {
    "threshold": "loyalty.tiers.err_threshold",
    "discount": "loyalty.tiers.err_discount",
    "multiplier": "loyalty.err_multiplier",
    "md_multiplier": "loyalty.err_multiplier",
    "birthday_coupon": "loyalty.err_coupon",
    "name_zh": "field.missing",
    "window_days": "loyalty.tiers.err_window_days",
    "max_drop": "loyalty.tiers.err_max_drop",
    "sku_prices": "loyalty.tiers.err_sku_prices",
    "days_of_month": "loyalty.member_day.err_days",
    "weekdays": "loyalty.member_day.err_weekdays",
}
SKU_PRICE_SPLIT = re.compile(r"[\s,，]+")
DAYS_SPLIT = re.compile(r"[\s,，、;；]+")
WEEKDAYS = range(1, 8)
MAX_CYCLE = 31
EXTRA_ROWS = 3  # blank check-in rows under the cycle, to make it longer


def _save_program(
    session: Session, actor_id: int, p: Program, now: datetime, **changes: Any
) -> Program:
    """``save_program`` with the stored program's parts, ``changes`` replacing some."""
    parts: dict[str, Any] = {
        "tiers": list(p.tiers),
        "member_day": p.member_day,
        "review": p.review,
        "sku_prices": dict(p.sku_prices),
    } | changes
    return tiers.save_program(session, actor_id=actor_id, now=now, **parts)


def _program_field(name: str) -> str:
    """``tiers.2.threshold`` → ``t2_threshold``; ``review.window_days`` → ``window_days``;
    ``member_day.points_multiplier_percent`` → ``md_multiplier``."""
    parts = name.split(".")
    if parts[0] == "tiers" and len(parts) >= 3 and parts[1].isdigit():
        return f"t{parts[1]}_{TIER_FIELDS.get(parts[2], 'name_zh')}"
    if parts[0] == "review" and len(parts) > 1:
        return parts[1]
    if parts[0] == "member_day" and len(parts) > 1:
        return {
            "points_multiplier_percent": "md_multiplier",
            "free_shipping": "md_free_shipping",
        }.get(parts[1], parts[1])
    if parts[0] == "sku_prices":
        return "sku_prices"
    return "_form"


def _loc_field(loc: tuple[Any, ...]) -> str:
    return _program_field(".".join(str(p) for p in loc))


def _refused(
    request: Request, exc: DomainError, to_form: Any = _program_field, hints: Any = None
) -> dict[str, str]:
    locale = request_locale(request)
    return problem_errors(
        translator("console", locale), locale, exc, to_form, TIER_HINTS if hints is None else hints
    )


# ---------------------------------------------------------------- 会员等级 tiers


def tier_values(p: Program) -> dict[str, str]:
    values: dict[str, str] = {
        "window_days": str(p.review.window_days),
        "max_drop": str(p.review.max_drop),
        "sku_prices": "\n".join(
            f"{level} {sku_id} {yuan_input(price)}"
            for (level, sku_id), price in sorted(p.sku_prices.items())
        ),
    }
    for tier in p.tiers:
        pre = f"t{tier.level}_"
        values |= {
            pre + "name_zh": tier.name_zh,
            pre + "name_en": tier.name_en,
            pre + "threshold": str(tier.threshold),
            pre + "discount": str(tier.discount_percent),
            pre + "free_shipping": yuan_input(tier.free_shipping_threshold_fen),
            pre + "multiplier": str(tier.points_multiplier_percent),
            pre + "birthday_points": str(tier.birthday_points),
            pre + "birthday_coupon": str(tier.birthday_coupon_template_id or ""),
            pre + "priority": "1" if tier.priority_aftersale else "",
        }
    return values


def parse_sku_prices(text: str) -> list[dict[str, int]]:
    """Lines of ``level SKU-id price`` (yuan) → the API's ``sku_prices``; a line that is
    not three such values raises ValueError naming its number."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p for p in SKU_PRICE_SPLIT.split(line.strip()) if p]
        try:
            if len(parts) != 3:
                raise ValueError
            rows.append(
                {
                    "level": parse_int(parts[0]),
                    "sku_id": parse_int(parts[1]),
                    "price_fen": parse_yuan(parts[2]),
                }
            )
        except ValueError as exc:
            raise ValueError(str(number)) from exc
    return rows


def read_tiers_form(
    form: FormData, t: Translator
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """What was typed, the errors (in words) and the ``ProgramIn``-shaped body."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    body_tiers = []
    for level in range(LEVELS):
        pre = f"t{level}_"
        for name in ("name_zh", "name_en"):
            values[pre + name] = text_field(form, pre + name, 32)
        body_tiers.append(
            {
                "level": level,
                "name_zh": values[pre + "name_zh"],
                "name_en": values[pre + "name_en"],
                "threshold": read_int(form, pre + "threshold", values, errors),
                "discount_percent": read_int(form, pre + "discount", values, errors),
                "free_shipping_threshold_fen": read_optional_yuan(
                    form, pre + "free_shipping", values, errors
                ),
                "points_multiplier_percent": read_int(
                    form, pre + "multiplier", values, errors, default=100
                ),
                "birthday_points": read_int(
                    form, pre + "birthday_points", values, errors, default=0
                ),
                "birthday_coupon_template_id": read_optional_int(
                    form, pre + "birthday_coupon", values, errors
                ),
                "priority_aftersale": checkbox(form, pre + "priority"),
            }
        )
        values[pre + "priority"] = "1" if checkbox(form, pre + "priority") else ""
    review = {
        "window_days": read_int(form, "window_days", values, errors),
        "max_drop": read_int(form, "max_drop", values, errors),
    }
    values["sku_prices"] = text_field(form, "sku_prices", 200_000)
    prices: list[dict[str, int]] = []
    try:
        prices = parse_sku_prices(values["sku_prices"])
    except ValueError as exc:
        errors["sku_prices"] = t("loyalty.tiers.sku_prices_line", line=str(exc))
    body = {"tiers": body_tiers, "review": review, "sku_prices": prices}
    return values, {k: (t(v) if v.startswith("field.") else v) for k, v in errors.items()}, body


def tiers_page(
    request: Request, user: ConsoleUser, session: Session, shown: Feedback | None = None
) -> Response:
    with session.begin():
        p = tiers.load_program(session)
        return render(
            request,
            "loyalty_tiers.html",
            user=user,
            active="member_tiers",
            shown=shown or Feedback(values=tier_values(p)),
            program=p,
            levels=list(range(LEVELS)),
            coupons=coupon_choices(session),
        )


@router.get("/tiers")
def tiers_form(request: Request, user: Reader, session: SessionDep) -> Response:
    return tiers_page(request, user, session)


@router.post("/tiers")
def save_tiers(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    values, errors, body = read_tiers_form(form, t)
    if not errors:
        try:
            checked = ProgramIn.model_validate(body)
        except ValidationError as exc:
            errors = schema_errors(t, locale, list(exc.errors()), _loc_field)
    if errors:
        return tiers_page(request, user, session, Feedback(errors, values, 422))
    try:
        with session.begin():
            _save_program(
                session,
                user.principal.id,
                tiers.load_program(session),
                now,
                tiers=[TierRule(**tier.model_dump()) for tier in checked.tiers],
                review=ReviewRule(checked.review.window_days, checked.review.max_drop),
                sku_prices={(p.level, p.sku_id): p.price_fen for p in checked.sku_prices},
            )
    except DomainError as exc:
        shown = Feedback(_refused(request, exc), values, exc.http_status)
        return tiers_page(request, user, session, shown)
    return redirect("/console/loyalty/tiers?notice=saved")


# ---------------------------------------------------------------- 会员日 member day


def member_day_values(rule: MemberDayRule) -> dict[str, str]:
    values = {
        "days_of_month": ", ".join(str(d) for d in sorted(rule.days_of_month)),
        "md_multiplier": str(rule.points_multiplier_percent),
        "md_free_shipping": "1" if rule.free_shipping else "",
    }
    values |= {f"weekday-{d}": "1" for d in rule.weekdays}
    return values


def member_day_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    now: datetime,
    shown: Feedback | None = None,
) -> Response:
    with session.begin():
        p = tiers.load_program(session)
        return render(
            request,
            "loyalty_member_day.html",
            user=user,
            active="member_day",
            shown=shown or Feedback(values=member_day_values(p.member_day)),
            info=tier_service.member_day_info(session, now),
            weekdays=list(WEEKDAYS),
        )


@router.get("/member-day")
def member_day_form(request: Request, user: Reader, session: SessionDep, now: NowDep) -> Response:
    return member_day_page(request, user, session, now)


@router.post("/member-day")
def save_member_day(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    values: dict[str, str] = {"days_of_month": text_field(form, "days_of_month", 200)}
    errors: dict[str, str] = {}
    days: list[int] = []
    try:
        days = [parse_int(d) for d in DAYS_SPLIT.split(values["days_of_month"]) if d]
    except ValueError:
        errors["days_of_month"] = "loyalty.member_day.err_days"
    weekdays = [d for d in WEEKDAYS if checkbox(form, f"weekday-{d}")]
    values |= {f"weekday-{d}": "1" for d in weekdays}
    multiplier = read_int(form, "md_multiplier", values, errors)
    free_shipping = checkbox(form, "md_free_shipping")
    values["md_free_shipping"] = "1" if free_shipping else ""
    found = words(t, errors)
    if not found:
        try:
            checked = MemberDayIn.model_validate(
                {
                    "days_of_month": days,
                    "weekdays": weekdays,
                    "points_multiplier_percent": multiplier,
                    "free_shipping": free_shipping,
                }
            )
        except ValidationError as exc:
            found = schema_errors(
                t, locale, list(exc.errors()), lambda loc: _program_field(f"member_day.{loc[0]}")
            )
    if found:
        return member_day_page(request, user, session, now, Feedback(found, values, 422))
    rule = MemberDayRule(
        days_of_month=frozenset(checked.days_of_month),
        weekdays=frozenset(checked.weekdays),
        points_multiplier_percent=checked.points_multiplier_percent,
        free_shipping=checked.free_shipping,
    )
    try:
        with session.begin():
            _save_program(
                session, user.principal.id, tiers.load_program(session), now, member_day=rule
            )
    except DomainError as exc:
        shown = Feedback(_refused(request, exc), values, exc.http_status)
        return member_day_page(request, user, session, now, shown)
    return redirect("/console/loyalty/member-day?notice=saved")


# ---------------------------------------------------------------- 积分规则 points rules

POINTS_HINTS = {
    "earn_per_yuan": "loyalty.points.err_earn",
    "expiry_years": "loyalty.points.err_expiry",
    "signup_reward": "loyalty.points.err_signup",
}


def points_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    ctx: CtxDep,
    shown: Feedback | None = None,
) -> Response:
    with session.begin():
        rules = ctx.points.rules(session)
        years = rules.expiry.years_after
        values = {
            "earn_per_yuan": str(rules.earning.points_per_yuan),
            "expiry_years": "" if years is None else str(years),
            "never_expire": "1" if years is None else "",
            "signup_reward": str(rules.signup_reward),
        }
        return render(
            request,
            "loyalty_points.html",
            user=user,
            active="points_rules",
            shown=shown or Feedback(values=values),
            rules=rules,
        )


@router.get("/points")
def points_form(request: Request, user: Reader, session: SessionDep, ctx: CtxDep) -> Response:
    return points_page(request, user, session, ctx)


@router.post("/points")
def save_points(
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    ctx: CtxDep,
    now: NowDep,
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    never = checkbox(form, "never_expire")
    values["never_expire"] = "1" if never else ""
    body = {
        "earn_per_yuan": read_int(form, "earn_per_yuan", values, errors),
        "expiry_years": None if never else read_int(form, "expiry_years", values, errors),
        "signup_reward": read_int(form, "signup_reward", values, errors, default=0),
    }
    if never:
        values["expiry_years"] = text_field(form, "expiry_years", 32)
    found = words(t, errors)
    if not found:
        try:
            checked = PointsRulesIn.model_validate(body)
        except ValidationError as exc:
            found = schema_errors(t, locale, list(exc.errors()), lambda loc: str(loc[0]))
    if found:
        return points_page(request, user, session, ctx, Feedback(found, values, 422))
    try:
        with session.begin():
            points.save_points_rules(
                session,
                ctx.points,
                actor_id=user.principal.id,
                earn_per_yuan=checked.earn_per_yuan,
                expiry_years=checked.expiry_years,
                signup_reward=checked.signup_reward,
                now=now,
            )
    except DomainError as exc:
        errors = _refused(request, exc, lambda name: name, POINTS_HINTS)
        return points_page(request, user, session, ctx, Feedback(errors, values, exc.http_status))
    return redirect("/console/loyalty/points?notice=saved")


# ---------------------------------------------------------------- 签到奖励 check-in

CHECKIN_HINTS = {
    "points": "loyalty.checkin.err_points",
    "coupon": "loyalty.err_coupon",
    "makeup_cost_points": "loyalty.checkin.err_makeup_cost",
    "makeups_per_month": "loyalty.checkin.err_makeups",
    "rewards": "loyalty.checkin.err_rewards",
}


def _checkin_field(name: str) -> str:
    """``rewards.2.points`` → ``r3_points`` (rows are numbered by cycle day, from 1)."""
    parts = name.split(".")
    if parts[0] == "rewards" and len(parts) >= 2 and parts[1].isdigit():
        suffix = "coupon" if len(parts) > 2 and parts[2] == "coupon_template_id" else "points"
        return f"r{int(parts[1]) + 1}_{suffix}"
    return parts[0] if parts[0] in CHECKIN_HINTS else "_form"


def checkin_values(rule: CheckinRule) -> dict[str, str]:
    values = {
        "makeup_enabled": "1" if rule.makeup_enabled else "",
        "makeup_cost_points": str(rule.makeup_cost_points),
        "makeups_per_month": str(rule.makeups_per_month),
    }
    for day, reward in enumerate(rule.rewards, start=1):
        values[f"r{day}_points"] = str(reward.points)
        values[f"r{day}_coupon"] = str(reward.coupon_template_id or "")
    return values


def checkin_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    shown: Feedback | None = None,
    rows: int | None = None,
) -> Response:
    with session.begin():
        rule = checkin.load_rule(session)
        count = rows if rows is not None else rule.cycle_days
        return render(
            request,
            "loyalty_checkin.html",
            user=user,
            active="checkin",
            shown=shown or Feedback(values=checkin_values(rule)),
            days=list(range(1, min(count + EXTRA_ROWS, MAX_CYCLE) + 1)),
            coupons=coupon_choices(session),
        )


@router.get("/checkin")
def checkin_form(request: Request, user: Reader, session: SessionDep) -> Response:
    return checkin_page(request, user, session)


@router.post("/checkin")
def save_checkin(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    typed: list[tuple[int, int | None, int | None]] = []
    for day in range(1, MAX_CYCLE + 1):
        if not text_field(form, f"r{day}_points") and not text_field(form, f"r{day}_coupon"):
            continue
        typed.append(
            (
                day,
                read_int(form, f"r{day}_points", values, errors, default=0),
                read_optional_int(form, f"r{day}_coupon", values, errors),
            )
        )
    # Days must follow on from day 1: a gap is a day with no reward.
    last = max((day for day, _, _ in typed), default=0)
    for day in range(1, last + 1):
        if all(d != day for d, _, _ in typed):
            errors[f"r{day}_points"] = "loyalty.checkin.err_points"
    rewards = [{"points": p or 0, "coupon_template_id": c} for _, p, c in typed]
    makeup = checkbox(form, "makeup_enabled")
    values["makeup_enabled"] = "1" if makeup else ""
    body = {
        "rewards": rewards,
        "makeup_enabled": makeup,
        "makeup_cost_points": read_int(form, "makeup_cost_points", values, errors, default=0),
        "makeups_per_month": read_int(form, "makeups_per_month", values, errors, default=0),
    }
    if not rewards and not errors:
        errors["r1_points"] = "loyalty.checkin.err_rewards"
    found = words(t, errors)
    if not found:
        try:
            checked = CheckinRuleIn.model_validate(body)
        except ValidationError as exc:
            found = schema_errors(
                t, locale, list(exc.errors()), lambda loc: _checkin_field(".".join(map(str, loc)))
            )
    shown_rows = max(last, 1)
    if found:
        return checkin_page(request, user, session, Feedback(found, values, 422), shown_rows)
    rule = CheckinRule(
        rewards=tuple(DayReward(r.points, r.coupon_template_id) for r in checked.rewards),
        makeup_enabled=checked.makeup_enabled,
        makeup_cost_points=checked.makeup_cost_points,
        makeups_per_month=checked.makeups_per_month,
    )
    try:
        with session.begin():
            checkin.save_rule(session, rule, now, actor_id=user.principal.id)
    except DomainError as exc:
        errors = _refused(request, exc, _checkin_field, CHECKIN_HINTS)
        shown = Feedback(errors, values, exc.http_status)
        return checkin_page(request, user, session, shown, shown_rows)
    return redirect("/console/loyalty/checkin?notice=saved")

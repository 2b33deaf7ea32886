"""Lottery campaigns (抽奖活动): the list with live figures, and the create/edit form
with its prize table — the cost in points, the daily limit per shopper, and each
prize's odds, stock and fallback.

Odds are typed as a percent with up to four decimals (``12.5`` → 125,000 parts per
million, exactly; ``12.34567`` is refused, never rounded) and shown back exactly as
the shopper will read them (``rules.odds_text``). The table is validated by the
lottery service (``save_campaign``): odds that do not add up to 100 %, a fallback chain
without an unlimited end, a coupon that does not exist — the page shows it again with
the words next to the field and writes nothing. Once a campaign has draws its prizes
cannot change (the service refuses it). Stats come from ``campaign_stats``.

Routes: ``GET /console/loyalty/lottery``; ``GET|POST /console/loyalty/lottery/new``;
``GET|POST /console/loyalty/lottery/{id}``; ``POST /console/loyalty/lottery/{id}/status``
(``status`` = draft | active | ended: allowed after draws, it changes no odds).

Stable selectors: ``a#new-lottery``; rows ``tr[data-testid=lottery-row]`` (``data-id``,
``data-status``, ``data-draws``). Form ``form#lottery-form``: ``#name``, ``#cost_points``,
``#daily_limit``, ``#starts_at``, ``#ends_at``, ``#status``; prize row N (from 1)
``#pN_name``, ``#pN_kind``, ``#pN_odds`` (percent), ``#pN_stock`` (blank: unlimited),
``#pN_fallback`` (a prize number; blank: the first unlimited one), ``#pN_points``,
``#pN_coupon``, ``#pN_sku``; ``button#lottery-submit``; ``button#lottery-status-<status>``. Stats:
``[data-testid=lottery-stat-draws]``, ``lottery-stat-points``,
``td[data-testid=prize-given]`` (``data-position``, ``data-value``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from siyu.errors import DomainError
from siyu.loyalty.lottery import service as lottery
from siyu.loyalty.lottery.models import CampaignStatus, LotteryCampaign
from siyu.loyalty.lottery.rules import TOTAL_WEIGHT, PrizeKind, odds_text
from siyu.web.api.loyalty_games import CampaignIn
from siyu.web.console.base import (
    ConsoleUser,
    Feedback,
    Refusal,
    redirect,
    render,
    request_locale,
    save,
)
from siyu.web.console.marketing.forms import (
    PostWriter,
    Reader,
    Writer,
    marketing_text,
    moment_input,
    read_moment,
    words,
)
from siyu.web.console.marketing.loyalty_forms import (
    coupon_choices,
    problem_errors,
    read_int,
    read_optional_int,
    schema_errors,
)
from siyu.web.console.security import FormDep, text_field
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix="/console/loyalty", include_in_schema=False)

MAX_PRIZES = 12
BLANK_ROWS = 2  # empty prize rows under the stored ones
PRIZE_FIELD = re.compile(r"^prize\.(\d+)\.(\w+)$")
HINTS = {
    "odds": "loyalty.lottery.err_odds",
    "stock": "loyalty.lottery.err_stock",
    "points": "loyalty.lottery.err_points",
    "coupon": "loyalty.lottery.err_coupon",
    "sku": "loyalty.lottery.err_sku",
    "fallback": "loyalty.lottery.err_fallback",
    "ends_at": "loyalty.lottery.err_ends",
}
# the service's name of a prize field → the form's suffix
SUFFIX = {"weight": "odds", "weight_ppm": "odds", "coupon": "coupon",
          "coupon_template_id": "coupon", "sku": "sku", "sku_id": "sku",
          "fallback": "fallback", "fallback_position": "fallback"}  # fmt: skip


def parse_odds(text: str) -> int:
    """``"12.5"`` (percent) → 125000 parts per million; more than four decimals, a sign
    or more than 100 % raises ValueError."""
    try:
        percent = Decimal(text.strip().rstrip("%").strip())
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    ppm = percent * (TOTAL_WEIGHT // 100)
    if not percent.is_finite() or percent < 0 or ppm > TOTAL_WEIGHT:
        raise ValueError("out of range")
    if ppm != ppm.to_integral_value():
        raise ValueError("more than four decimals")
    return int(ppm)


def odds_input(weight_ppm: int) -> str:
    return odds_text(weight_ppm).rstrip("%")


def _field(name: str) -> str:
    """``prize.2.weight`` → ``p3_odds`` (rows are numbered from 1)."""
    match = PRIZE_FIELD.match(name)
    if match:
        return f"p{int(match.group(1)) + 1}_{SUFFIX.get(match.group(2), match.group(2))}"
    return name if name in ("weights", "ends_at", "starts_at", "name", "prizes") else "_form"


def _loc_field(loc: tuple[Any, ...]) -> str:
    if len(loc) >= 3 and loc[0] == "prizes" and isinstance(loc[1], int):
        return f"p{loc[1] + 1}_{SUFFIX.get(str(loc[2]), str(loc[2]))}"
    return str(loc[0]) if loc else "_form"


# ---------------------------------------------------------------- list


@router.get("/lottery")
def lottery_list(request: Request, user: Reader, session: SessionDep) -> Response:
    with session.begin():
        campaigns = lottery.list_campaigns(session)
        stats = {c.id: lottery.campaign_stats(session, c.id) for c in campaigns}
        return render(
            request,
            "loyalty_lottery.html",
            user=user,
            active="lottery",
            campaigns=campaigns,
            stats=stats,
        )


# ---------------------------------------------------------------- form


def campaign_values(c: LotteryCampaign) -> dict[str, str]:
    values = {
        "name": c.name,
        "cost_points": str(c.cost_points),
        "daily_limit": str(c.daily_limit),
        "starts_at": moment_input(c.starts_at),
        "ends_at": moment_input(c.ends_at),
        "status": str(c.status),
    }
    for prize in c.prizes:
        pre = f"p{prize.position + 1}_"
        values |= {
            pre + "name": prize.name,
            pre + "kind": str(prize.kind),
            pre + "odds": odds_input(prize.weight_ppm),
            pre + "stock": "" if prize.stock is None else str(prize.stock),
            pre + "fallback": ""
            if prize.fallback_position is None
            else str(prize.fallback_position + 1),
            pre + "points": str(prize.points) if prize.points else "",
            pre + "coupon": str(prize.coupon_template_id or ""),
            pre + "sku": str(prize.sku_id or ""),
        }
    return values


def blank_values(now: datetime) -> dict[str, str]:
    return {
        "cost_points": "100",
        "daily_limit": "3",
        "starts_at": moment_input(now),
        "ends_at": moment_input(now + timedelta(days=30)),
        "status": CampaignStatus.draft.value,
        "p1_name": "谢谢参与",
        "p1_kind": PrizeKind.thanks.value,
        "p1_odds": "100",
    }


def campaign_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    campaign_id: int | None,
    now: datetime,
    shown: Feedback | None = None,
) -> Response:
    with session.begin():
        campaign = lottery.get_campaign(session, campaign_id) if campaign_id else None
        stats = lottery.campaign_stats(session, campaign.id) if campaign else None
        values = campaign_values(campaign) if campaign else blank_values(now)
        stored = len(campaign.prizes) if campaign else 1
        return render(
            request,
            "loyalty_lottery_edit.html",
            user=user,
            active="lottery",
            shown=shown or Feedback(values=values),
            campaign=campaign,
            stats=stats,
            odds={p.id: odds_text(p.weight_ppm) for p in campaign.prizes} if campaign else {},
            total=odds_text(sum(p.weight_ppm for p in campaign.prizes)) if campaign else "",
            frozen=bool(stats and stats.draws),
            rows=list(range(1, min(stored + BLANK_ROWS, MAX_PRIZES) + 1)),
            kinds=list(PrizeKind),
            statuses=list(CampaignStatus),
            coupons=coupon_choices(session),
        )


def read_campaign_form(
    form: FormData,
) -> tuple[dict[str, str], dict[str, str], dict[str, Any], int]:
    """What was typed, errors (message ids), the ``CampaignIn`` body and the sum of the
    typed odds in parts per million."""
    values = {
        "name": text_field(form, "name", 60),
        "status": text_field(form, "status", 16) or CampaignStatus.draft.value,
    }
    errors: dict[str, str] = {}
    body: dict[str, Any] = {
        "name": values["name"],
        "status": values["status"],
        "cost_points": read_int(form, "cost_points", values, errors),
        "daily_limit": read_int(form, "daily_limit", values, errors, default=0),
        "starts_at": read_moment(form, "starts_at", values, errors, required=True),
        "ends_at": read_moment(form, "ends_at", values, errors, required=True),
    }
    prizes = []
    total = 0
    for n in range(1, MAX_PRIZES + 1):
        pre = f"p{n}_"
        name = text_field(form, pre + "name", 60)
        if not name and not text_field(form, pre + "odds"):
            continue
        values[pre + "name"] = name
        values[pre + "kind"] = text_field(form, pre + "kind", 16)
        values[pre + "odds"] = text_field(form, pre + "odds", 16)
        weight = 0
        try:
            weight = parse_odds(values[pre + "odds"])
        except ValueError:
            errors[pre + "odds"] = "loyalty.lottery.err_odds"
        total += weight
        fallback = read_optional_int(form, pre + "fallback", values, errors)
        prizes.append(
            {
                "name": name,
                "kind": values[pre + "kind"],
                "weight_ppm": weight,
                "stock": read_optional_int(form, pre + "stock", values, errors),
                "fallback_position": None if fallback is None else fallback - 1,
                "points": read_int(form, pre + "points", values, errors, default=0),
                "coupon_template_id": read_optional_int(form, pre + "coupon", values, errors),
                "sku_id": read_optional_int(form, pre + "sku", values, errors),
            }
        )
    if not prizes:
        errors["weights"] = "loyalty.lottery.err_no_prizes"
    body["prizes"] = prizes
    return values, errors, body, total


def save_campaign_view(
    request: Request,
    form: FormData,
    user: ConsoleUser,
    session: Session,
    now: datetime,
    campaign_id: int | None,
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    values, ids, body, total = read_campaign_form(form)
    errors = words(t, ids)
    checked: CampaignIn | None = None
    if not errors:
        try:
            checked = CampaignIn.model_validate(body)
        except ValidationError as exc:
            errors = schema_errors(t, locale, list(exc.errors()), _loc_field)
    if checked is None:
        shown = Feedback(errors, values, 422)
        return campaign_page(request, user, session, campaign_id, now, shown)
    try:
        with session.begin():
            saved = lottery.save_campaign(
                session,
                campaign_id=campaign_id,
                values=checked.model_dump(exclude={"prizes"}),
                prizes=[p.model_dump() for p in checked.prizes],
                now=now,
                actor_id=user.principal.id,
            )
            saved_id = saved.id
    except DomainError as exc:
        hints = HINTS | {"weights": ""}
        found = problem_errors(t, locale, exc, _field, hints)
        if "weights" in exc.fields:
            found["weights"] = t("loyalty.lottery.err_weights", total=odds_text(total))
        shown = Feedback(found, values, exc.http_status)
        return campaign_page(request, user, session, campaign_id, now, shown)
    if campaign_id is None:
        return redirect(f"/console/loyalty/lottery/{saved_id}?notice=lottery_created")
    return redirect(f"/console/loyalty/lottery/{campaign_id}?notice=saved")


@router.get("/lottery/new")
def new_campaign(request: Request, user: Writer, session: SessionDep, now: NowDep) -> Response:
    return campaign_page(request, user, session, None, now)


@router.post("/lottery/new")
def create_campaign(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    return save_campaign_view(request, form, user, session, now, None)


@router.get("/lottery/{campaign_id}")
def show_campaign(
    campaign_id: int, request: Request, user: Reader, session: SessionDep, now: NowDep
) -> Response:
    return campaign_page(request, user, session, campaign_id, now)


@router.post("/lottery/{campaign_id}")
def update_campaign(
    campaign_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    return save_campaign_view(request, form, user, session, now, campaign_id)


@router.post("/lottery/{campaign_id}/status")
def change_status(
    campaign_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    raw = text_field(form, "status", 16)
    if raw not in set(CampaignStatus):
        t = translator("console", request_locale(request))
        shown = Feedback({"status": t("field.enum")}, {}, 422)
        return campaign_page(request, user, session, campaign_id, now, shown)
    outcome = save(
        request,
        session,
        lambda: lottery.set_campaign_status(
            session,
            campaign_id=campaign_id,
            status=CampaignStatus(raw),
            now=now,
            actor_id=user.principal.id,
        ),
        explain=marketing_text,
    )
    if isinstance(outcome, Refusal):
        return campaign_page(request, user, session, campaign_id, now, outcome.shown())
    return redirect(f"/console/loyalty/lottery/{campaign_id}?notice=lottery_status")

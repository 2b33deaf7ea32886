"""Group-buy campaigns (拼团): the list with each campaign's live figures, the
create/edit form (``group_buy_forms.py``), the status actions (start, pause, resume,
end: ``campaigns.set_campaign_status``, audited) and the groups of a campaign with
their members (masked, as shoppers see them), seats paid and deadline (Shanghai).

Figures (``campaigns.campaign_stats``): groups opened (the leader paid) and, of them,
in progress, completed and failed; success rate = completed ÷ (completed + failed);
units sold on paid seats; refunds — the group buy's own (failure, ladder) and money
back on the campaign's orders for any reason, in fen; new shoppers — members (not the
leader) whose first paid order is their group order, and of them those who came
through a share (the seat carries the sharer).

Routes: ``GET /console/group-buy``; ``GET|POST /console/group-buy/new``;
``GET|POST /console/group-buy/{id}``; ``POST /console/group-buy/{id}/status``
(``status`` = active | paused | ended); ``GET /console/group-buy/{id}/groups``.

Stable selectors: ``a#new-group-buy``; rows ``tr[data-testid=group-buy-row]``
(``data-id``, ``data-status``) with ``td[data-testid=gb-stat-<key>]`` (``data-value``)
for groups_opened, groups_open, groups_completed, groups_failed,
success_rate_percent, units_sold, refunded_orders, refunded_fen, new_shoppers. Form
``form#group-buy-form``: ``#name``, ``#sku_id``, tier rows ``#tN_size`` / ``#tN_price``
(N from 1, yuan), ``#duration_minutes``, ``#max_quantity``, ``#per_shopper_limit``,
``#new_shoppers_only``, ``#auto_fill``, ``#free_shipping``, ``#starts_at``, ``#ends_at``,
``#status``; ``button#group-buy-submit``; ``button#group-buy-status-<status>``. Groups:
``tr[data-testid=group-row]`` (``data-id``, ``data-status``, ``data-paid``,
``data-size``) with ``[data-testid=group-members]``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from siyu.catalog.listing import product_titles
from siyu.errors import DomainError
from siyu.fields import MAX_ID
from siyu.group_buy import campaigns
from siyu.group_buy.rules import MAX_TIERS, STATUS_MOVES, CampaignStatus, mask_name
from siyu.web.console.base import (
    ConsoleUser,
    Feedback,
    Refusal,
    redirect,
    render,
    request_locale,
    save,
)
from siyu.web.console.marketing.forms import PostWriter, Reader, Writer, marketing_text
from siyu.web.console.marketing.group_buy_forms import (
    ALIASES,
    FORM_STATUSES,
    HINTS,
    blank_values,
    campaign_values,
    checked_body,
    read_campaign_form,
)
from siyu.web.console.marketing.loyalty_forms import problem_errors
from siyu.web.console.security import FormDep, text_field
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix="/console/group-buy", include_in_schema=False)
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]
STATUS_CLASS = {"draft": "draft", "active": "on_sale", "paused": "off_sale", "ended": "cancelled"}
BASE = "/console/group-buy"


@router.get("")
def campaign_list(request: Request, user: Reader, session: SessionDep) -> Response:
    with session.begin():
        rows = campaigns.list_campaigns(session)
        stats = {c.id: campaigns.campaign_stats(session, c.id) for c in rows}
        titles = product_titles(session, {c.product_id for c in rows})
        return render(
            request,
            "group_buy.html",
            user=user,
            active="group_buy",
            campaigns=rows,
            stats=stats,
            titles=titles,
            status_class=STATUS_CLASS,
        )


def campaign_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    campaign_id: int | None,
    now: datetime,
    shown: Feedback | None = None,
) -> Response:
    with session.begin():
        campaign = campaigns.get_campaign(session, campaign_id) if campaign_id else None
        stats = campaigns.campaign_stats(session, campaign.id) if campaign else None
        values = campaign_values(campaign) if campaign else blank_values(now)
        titles = product_titles(session, [campaign.product_id]) if campaign else {}
        return render(
            request,
            "group_buy_edit.html",
            user=user,
            active="group_buy",
            shown=shown or Feedback(values=values),
            campaign=campaign,
            title=titles.get(campaign.product_id, "") if campaign else "",
            stats=stats,
            frozen=bool(stats and stats["groups_opened"]),
            moves=sorted(STATUS_MOVES[campaign.status]) if campaign else [],
            statuses=FORM_STATUSES,
            tiers=range(1, MAX_TIERS + 1),
            status_class=STATUS_CLASS,
        )


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
    current = None
    if campaign_id is not None:
        with session.begin():
            current = campaigns.get_campaign(session, campaign_id).status
    values, ids, body, typed = read_campaign_form(form, current)
    checked, errors = checked_body(t, locale, ids, body, typed)
    if checked is None:
        return campaign_page(
            request, user, session, campaign_id, now, Feedback(errors, values, 422)
        )
    try:
        with session.begin():
            saved_id = campaigns.save_campaign(
                session, checked, now=now, campaign_id=campaign_id, actor_id=user.principal.id
            ).id
    except DomainError as exc:
        found = problem_errors(t, locale, exc, lambda name: ALIASES.get(name, name), HINTS)
        if exc.code == "bad_tiers":  # the rule's own words say which tier is wrong
            found["tiers"] = marketing_text(t, locale, exc)
        shown = Feedback(found, values, exc.http_status)
        return campaign_page(request, user, session, campaign_id, now, shown)
    if campaign_id is None:
        return redirect(f"{BASE}/{saved_id}?notice=group_buy_created")
    return redirect(f"{BASE}/{campaign_id}?notice=saved")


@router.get("/new")
def new_campaign(request: Request, user: Writer, session: SessionDep, now: NowDep) -> Response:
    return campaign_page(request, user, session, None, now)


@router.post("/new")
def create_campaign(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    return save_campaign_view(request, form, user, session, now, None)


@router.get("/{campaign_id}")
def show_campaign(
    campaign_id: CampaignId, request: Request, user: Reader, session: SessionDep, now: NowDep
) -> Response:
    return campaign_page(request, user, session, campaign_id, now)


@router.post("/{campaign_id}")
def update_campaign(
    campaign_id: CampaignId,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    return save_campaign_view(request, form, user, session, now, campaign_id)


@router.post("/{campaign_id}/status")
def change_status(
    campaign_id: CampaignId,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    raw = text_field(form, "status", 16)
    if raw not in {s.value for s in CampaignStatus}:
        t = translator("console", request_locale(request))
        shown = Feedback({"status": t("field.enum")}, {}, 422)
        return campaign_page(request, user, session, campaign_id, now, shown)
    outcome = save(
        request,
        session,
        lambda: campaigns.set_campaign_status(
            session,
            campaign_id=campaign_id,
            status=CampaignStatus(raw),
            now=now,
            actor_id=user.principal.id,
        ),
        explain=lambda t, locale, exc: (
            t("group_buy.err_status") if exc.code == "group_buy_bad_status" else
            marketing_text(t, locale, exc)
        ),
    )  # fmt: skip
    if isinstance(outcome, Refusal):
        return campaign_page(request, user, session, campaign_id, now, outcome.shown())
    return redirect(f"{BASE}/{campaign_id}?notice=group_buy_{raw}")


@router.get("/{campaign_id}/groups")
def campaign_groups(
    campaign_id: CampaignId, request: Request, user: Reader, session: SessionDep
) -> Response:
    with session.begin():
        campaign = campaigns.get_campaign(session, campaign_id)
        groups = campaigns.campaign_groups(session, campaign_id)
        members = campaigns.campaign_members(session, campaign_id)
        leaders = {
            seat.group_id: mask_name(shopper.nickname)
            for seats in members.values()
            for seat, shopper in seats
            if seat.is_leader
        }
        shown = {
            group_id: [(seat, mask_name(shopper.nickname)) for seat, shopper in seats]
            for group_id, seats in members.items()
        }
        return render(
            request,
            "group_buy_groups.html",
            user=user,
            active="group_buy",
            campaign=campaign,
            groups=groups,
            leaders=leaders,
            members=shown,
            status_class=STATUS_CLASS,
        )

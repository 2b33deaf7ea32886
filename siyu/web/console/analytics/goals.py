"""The stage goals page (``/console/analytics/goals``): each playbook stage's targets
against the actuals ``siyu.analytics.goals`` computes. Everyone with ``analytics.read``
sees it; saving needs ``goals.write`` (owners and operators, not analysts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from siyu.analytics.goals import (
    NUMBER_FIELDS,
    STAGES,
    TEXT_FIELDS,
    Goals,
    GoalsService,
    compute_actuals,
    unseen_events,
)
from siyu.events import CATALOG
from siyu.identity.rules import Permission
from siyu.web.console.analytics.common import (
    Analyst,
    FormState,
    known_events,
    tab_page,
    today_shanghai,
)
from siyu.web.console.base import (
    PREFIX,
    ConsoleUser,
    pydantic_field_errors,
    redirect,
    request_locale,
)
from siyu.web.console.security import FormDep, may_post, text_field
from siyu.web.deps import CtxDep, NowDep
from siyu.web.i18n import translator

router = APIRouter(prefix=f"{PREFIX}/analytics", include_in_schema=False)


@dataclass(frozen=True)
class GoalRow:
    key: str
    target: float
    actual: float | None

    @property
    def met(self) -> bool | None:
        return None if self.actual is None else self.actual >= self.target


# the goals whose actuals count a chosen event (the others count any event)
GOAL_EVENTS: dict[str, tuple[str, ...]] = {
    "retention_pct": ("activity_event",),
    "conversion_pct": ("activity_event", "conversion_event"),
}
CUSTOM = "_custom"  # suffix of the text field beside an event picker


def event_choices(store_events: list[str], current: list[str]) -> list[str]:
    """What an event picker offers: the catalog's events, then the other events the
    store has received, then any value in the form that is neither (a custom event)."""
    names = [spec.name for spec in CATALOG]
    names += sorted(set(store_events) - set(names))
    names += [name for name in dict.fromkeys(current) if name and name not in names]
    return names


# ------------------------------------------------------------------------- routes


def may_edit(user: ConsoleUser) -> bool:
    return user.can(Permission.goals_write)


def service_for(ctx: Any) -> GoalsService:
    return GoalsService.for_data_dir(ctx.settings.data_dir)


def _page(
    request: Request, user: ConsoleUser, ctx: Any, now: datetime, form: FormState
) -> HTMLResponse:
    """The saved goals against the actuals, and the edit form as ``form`` holds it
    (422 with the errors it has)."""
    saved = service_for(ctx).load()
    actuals = compute_actuals(ctx.analytics, saved, today_shanghai(now))
    unseen = set(unseen_events(ctx.analytics, saved))
    unseen_by_goal = {
        key: [getattr(saved, field) for field in fields if getattr(saved, field) in unseen]
        for key, fields in GOAL_EVENTS.items()
    }
    stages = {
        stage: [GoalRow(key, float(getattr(saved, key)), actuals.get(key)) for key in keys]
        for stage, keys in STAGES.items()
    }
    return tab_page(
        request,
        user,
        "goals",
        form,
        stages=stages,
        can_edit=may_edit(user),
        number_fields=NUMBER_FIELDS,
        text_fields=TEXT_FIELDS,
        event_choices=event_choices(
            known_events(ctx.analytics), [str(form.values.get(k, "")) for k in TEXT_FIELDS]
        ),
        unseen=unseen,
        unseen_by_goal=unseen_by_goal,
        custom_suffix=CUSTOM,
    )


def _values_of(goals: Goals) -> dict[str, str]:
    return {
        key: f"{getattr(goals, key):g}" if key in NUMBER_FIELDS else str(getattr(goals, key))
        for key in (*NUMBER_FIELDS, *TEXT_FIELDS)
    }


@router.get("/goals")
def goals_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    return _page(request, user, ctx, now, FormState(_values_of(service_for(ctx).load())))


Poster = Annotated[ConsoleUser, Depends(may_post(Permission.goals_write))]


@router.post("/goals")
def save_goals(request: Request, user: Poster, form: FormDep, ctx: CtxDep, now: NowDep) -> Response:
    values = {key: text_field(form, key, 100) for key in (*NUMBER_FIELDS, *TEXT_FIELDS)}
    for key in TEXT_FIELDS:  # a custom event typed beside the picker wins over it
        values[key] = text_field(form, key + CUSTOM, 100) or values[key]
    locale = request_locale(request)
    t = translator("console", locale)
    try:
        goals = Goals.model_validate({k: v for k, v in values.items() if v != ""})
    except ValidationError as exc:
        errors = pydantic_field_errors(
            t, locale, exc.errors(), name_for=lambda loc: str(loc[0]) if loc else None
        )
        return _page(request, user, ctx, now, FormState(values, errors))
    service_for(ctx).save(goals)
    return redirect(f"{PREFIX}/analytics/goals?notice=goals_saved")

"""Channel attribution and ROI: which channel brought each person, and what each
channel's visitors bought against what it cost.

Semantics:

- A **touch** is a client event (``source = 'client'``) in the range that carries a
  channel: for a ``group`` breakdown, a scene group other than direct (``''`` from H5
  without a scene, ``direct`` for the recent list); for a ``code`` breakdown, a
  non-empty ``channel_code``. Server facts are not touches.
- A person's **conversion** is their first ``order.paid`` in the range. Only touches at
  or before it count (PostHog-like attribution); a person who did not buy keeps all
  their touches in the range. **First touch** takes the earliest, **last touch** the
  latest (ties broken by the smaller value). A person without a touch is ``direct``
  (group breakdown) or ``""`` (code breakdown: no code).
- Per channel: ``visitors`` are persons with a visit (a client event, or a login or an
  order placed or paid: ``base.IS_VISIT``), ``new_shoppers`` persons
  with ``shopper.registered``, ``buyers`` persons with a paid order, ``new_buyers``
  buyers whose first paid order ever is in the range, ``orders`` paid orders, ``gmv_fen``
  paid − refunded (refunds in the range, whatever the order's date). Conversion =
  buyers / visitors. Persons are ``PERSON_ID`` (shopper when known, else the device).
- **Spend** lives in the OLTP store (``siyu.channel``), so it is passed in the query
  (``spend``: total fen per channel value, e.g. from
  :func:`siyu.channel.service.spend_totals`) and joined in :meth:`shape`.
  CAC = spend / new buyers (fen, rounded half up); ROI = (GMV − spend) / spend.
  A channel with spend but no persons still gets a row.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from siyu.analytics.queries.base import (
    IS_VISIT,
    InsightQuery,
    RangeRunner,
    SqlParams,
    percentage,
)
from siyu.analytics.schema import PERSON_ID

DIRECT_GROUP = "direct"


class ChannelSpendInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str  # a channel code or group, matching the breakdown
    amount_fen: int = Field(ge=0)


class ChannelsQuery(InsightQuery):
    kind: Literal["ChannelsQuery"] = "ChannelsQuery"
    attribution: Literal["first_touch", "last_touch"] = "first_touch"
    breakdown: Literal["group", "code"] = "group"
    spend: tuple[ChannelSpendInput, ...] = ()


class ChannelRow(BaseModel):
    channel: str
    visitors: int
    new_shoppers: int
    buyers: int
    new_buyers: int
    orders: int
    gmv_fen: int  # paid − refunded
    conversion_rate: float  # percent of visitors who bought
    spend_fen: int
    cac_fen: int | None  # spend per new buyer; None without new buyers
    roi: float | None  # (GMV − spend) / spend, 4 decimals; None without spend


class ChannelsResult(BaseModel):
    """One row per channel value, by GMV then visitors (largest first)."""

    attribution: str
    breakdown: str
    channels: list[ChannelRow]


def cac_fen(spend_fen: int, new_buyers: int) -> int | None:
    if new_buyers == 0:
        return None
    return (2 * spend_fen + new_buyers) // (2 * new_buyers)  # half up, non-negative


def roi(gmv_fen: int, spend_fen: int) -> float | None:
    return round((gmv_fen - spend_fen) / spend_fen, 4) if spend_fen else None


class ChannelsRunner(RangeRunner[ChannelsQuery, ChannelsResult]):
    kind = "ChannelsQuery"

    def range_sql(self, params: SqlParams, date_from: str, date_to: str, where: str) -> str:
        q = self.query
        if q.breakdown == "group":
            key = "toString(e.channel)"
            is_touch = f"e.source = 'client' AND e.channel NOT IN ('', '{DIRECT_GROUP}')"
            fallback = f"'{DIRECT_GROUP}'"
        else:
            key = "e.channel_code"
            is_touch = "e.source = 'client' AND e.channel_code != ''"
            fallback = "''"
        pick = (
            "tupleElement(arrayElement(touches, 1), 2)"
            if q.attribution == "first_touch"
            else ("tupleElement(arrayElement(touches, -1), 2)")
        )
        in_range = self.persons_events(
            f"timestamp >= {date_from} AND timestamp < {date_to} AND ({IS_VISIT} OR "
            "event IN ('shopper.registered', 'refund.succeeded'))",
        )
        ever_paid = self.persons_events(f"event = 'order.paid' AND timestamp < {date_to}")
        return (
            "WITH\n"
            "per_event AS (\n"
            f"    SELECT {PERSON_ID} AS person_id, e.event AS event, e.source AS source,\n"
            "        e.timestamp AS ts, e.amount_fen AS amount,\n"
            f"        ({is_touch}) AS is_touch, {key} AS touch_key\n"
            f"    FROM {in_range}\n"
            f"    WHERE {where}\n"
            "),\n"
            "per_person AS (\n"
            "    SELECT person_id,\n"
            f"        max({IS_VISIT}) AS visited,\n"
            "        max(event = 'shopper.registered') AS registered,\n"
            "        countIf(event = 'order.paid') AS orders,\n"
            "        sumIf(amount, event = 'order.paid') AS paid_fen,\n"
            "        sumIf(amount, event = 'refund.succeeded') AS refunded_fen,\n"
            "        minIf(ts, event = 'order.paid') AS converted_at,\n"
            "        arraySort(groupArrayIf((ts, touch_key), is_touch)) AS all_touches\n"
            "    FROM per_event\n"
            "    GROUP BY person_id\n"
            "),\n"
            "first_paid AS (\n"
            f"    SELECT {PERSON_ID} AS person_id, min(e.timestamp) AS first_paid_at\n"
            f"    FROM {ever_paid}\n"
            "    GROUP BY person_id\n"
            "),\n"
            "attributed AS (\n"
            "    SELECT p.*, orders > 0 AND f.first_paid_at >= "
            f"{params.timestamp('new_from', q.date_from)} AS new_buyer,\n"
            "        arrayFilter(t -> orders = 0 OR t.1 <= converted_at, all_touches) AS touches,\n"
            f"        if(empty(touches), {fallback}, {pick}) AS channel\n"
            "    FROM per_person AS p LEFT JOIN first_paid AS f ON p.person_id = f.person_id\n"
            ")\n"
            "SELECT channel,\n"
            "    countIf(visited) AS visitors,\n"
            "    countIf(registered) AS new_shoppers,\n"
            "    countIf(orders > 0) AS buyers,\n"
            "    countIf(new_buyer) AS new_buyers,\n"
            "    sum(orders) AS total_orders,\n"
            "    sum(paid_fen) - sum(refunded_fen) AS total_gmv_fen\n"
            "FROM attributed\n"
            "GROUP BY channel\n"
            "ORDER BY channel"
        )

    def shape(self, rows: list[tuple[Any, ...]]) -> ChannelsResult:
        spend: dict[str, int] = {}
        for item in self.query.spend:
            spend[item.channel] = spend.get(item.channel, 0) + item.amount_fen
        counted: dict[str, tuple[int, ...]] = {
            str(r[0]): tuple(int(v) for v in r[1:]) for r in rows
        }
        channels = []
        for name in sorted(counted.keys() | spend.keys()):
            visitors, new_shoppers, buyers, new_buyers, orders, gmv = counted.get(
                name, (0, 0, 0, 0, 0, 0)
            )
            cost = spend.get(name, 0)
            channels.append(
                ChannelRow(
                    channel=name,
                    visitors=visitors,
                    new_shoppers=new_shoppers,
                    buyers=buyers,
                    new_buyers=new_buyers,
                    orders=orders,
                    gmv_fen=gmv,
                    conversion_rate=percentage(buyers, visitors),
                    spend_fen=cost,
                    cac_fen=cac_fen(cost, new_buyers),
                    roi=roi(gmv, cost),
                )
            )
        channels.sort(key=lambda c: (-c.gmv_fen, -c.visitors, c.channel))
        return ChannelsResult(
            attribution=self.query.attribution,
            breakdown=self.query.breakdown,
            channels=channels,
        )

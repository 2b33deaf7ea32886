"""The parcel carriers a store ships with, and the shape of each one's tracking numbers.

One list for the console's ship form, the demo and the simulator. A tracking number is
the carrier's prefix followed by its count of digits (顺丰 ``SF`` + 13, 圆通 ``YT`` + 13,
京东 ``JD`` + 13, 中通 ``7`` + 11, 韵达 ``43`` + 11, 申通 ``77`` + 11, EMS ``1`` + 12).
The shapes are what the demo draws and what :func:`looks_like` recognises; shipping
itself accepts any number the staff type, since carriers change their formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from random import Random


@dataclass(frozen=True)
class Carrier:
    name: str  # as printed on the waybill and shown to the shopper
    prefix: str
    digits: int  # after the prefix

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(rf"^{re.escape(self.prefix)}\d{{{self.digits}}}$")

    def sample_number(self, rng: Random) -> str:
        """A number of this carrier's shape (for the demo and the simulator)."""
        return self.prefix + "".join(str(rng.randrange(10)) for _ in range(self.digits))


CARRIERS: tuple[Carrier, ...] = (
    Carrier("顺丰速运", "SF", 13),
    Carrier("中通快递", "7", 11),
    Carrier("圆通速递", "YT", 13),
    Carrier("韵达快递", "43", 11),
    Carrier("申通快递", "77", 11),
    Carrier("京东物流", "JD", 13),
    Carrier("EMS", "1", 12),
)
BY_NAME: dict[str, Carrier] = {c.name: c for c in CARRIERS}


def carrier_names() -> tuple[str, ...]:
    return tuple(c.name for c in CARRIERS)


def looks_like(carrier: str, tracking_no: str) -> bool:
    """Whether ``tracking_no`` has the shape of ``carrier``'s numbers (unknown carriers:
    no opinion, True)."""
    known = BY_NAME.get(carrier)
    return known is None or bool(known.pattern.match(tracking_no))

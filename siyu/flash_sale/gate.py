"""The gate that hands out a flash sale's units, before an order is placed.

With ``SIYU_REDIS_URL`` set the gate is Redis: one Lua script per request takes a token
from the shopper's and the IP's buckets (rate limits), checks the session's window,
the units left and the shopper's units, then decrements the units and counts the
shopper's — all atomic, one round trip. Without Redis the gate keeps the token
buckets in this process and lets every request through to the database, where the
placement's guarded updates are the gate (``SqlGate``).

Either way the gate only lets a request through to the SQL placement, which checks
again with guarded updates (``siyu.flash_sale.service.buy``): the database keeps the
truth, and a pass whose placement fails is given back. The keys of an item are
loaded from the database when its session starts, or lazily by the first request (a
script that writes only if nothing is there, so two loaders agree); the
reconciliation (``service.reconcile``) compares them with the database afterwards.

Keys (prefix ``SIYU_REDIS_KEY_PREFIX``; ``{item}`` is a cluster hash tag):
``fs:{item}`` hash — left, limit, starts, ends (epoch s), requests, refusals, passed,
rate_limited; ``fs:{item}:buyers`` hash — shopper → units; ``fs:{item}:released`` set —
purchases already given back (a redelivered event gives back nothing);
``fs:{item}:passes`` hash — shopper → the Idempotency-Keys of their passes since the
load, kept only while every unit of theirs came through one (a shopper at the limit
with a key that is none of them is told so at once: no retry to replay);
``rl:s:<id>``, ``rl:ip:<addr>`` — token buckets.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from siyu.flash_sale.rules import Bucket, BucketState, ItemCounts, Refusal, take_token
from siyu.flash_sale.script_client import open_script_caller

STATS = ("requests", "refusals", "passed", "rate_limited")
KEY_TTL_AFTER_END = 7 * 24 * 3600


@dataclass(frozen=True)
class Admission:
    refusal: Refusal | None  # None: through to the placement
    retry_after: float = 0.0  # seconds (rate limited / waiting room)
    loaded: bool = True  # False: the gate has no keys for the item yet
    # at the limit: may this request be a retry of one that got its order (replayed)?
    # False when the gate knows every pass of the shopper and this key was none of them
    maybe_retry: bool = True

    @property
    def passed(self) -> bool:
        return self.refusal is None and self.loaded


@dataclass(frozen=True)
class ItemLoad:
    """What the gate needs of an item, read from the database."""

    item_id: int
    units_left: int
    per_shopper_limit: int
    starts_at: datetime
    ends_at: datetime
    per_shopper: Mapping[int, int]
    # releases the database has made that the gate has not been given yet (outbox):
    # a load takes the database's counts, so those give-backs must then do nothing
    pending_releases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    shopper: Bucket
    ip: Bucket
    max_in_flight: int  # placements at once in this process; more wait in the room


class Gate(Protocol):
    mode: str  # "redis" | "sql"
    limits: Limits

    def admit(
        self,
        item_id: int,
        shopper_id: int,
        ip: str,
        quantity: int,
        now: datetime,
        rate_limit: bool = True,
    ) -> Admission: ...
    async def admit_async(
        self,
        item_id: int,
        shopper_id: int,
        ip: str,
        quantity: int,
        now: datetime,
        rate_limit: bool = True,
        key: str = "",
    ) -> Admission: ...
    def give_back(self, item_id: int, shopper_id: int, quantity: int, token: str = "") -> None: ...
    def load(self, item: ItemLoad, *, force: bool = False) -> bool: ...
    def counts(self, item_id: int) -> ItemCounts | None: ...
    def stats(self, item_id: int) -> dict[str, int]: ...
    def refused(self, item_id: int) -> None: ...
    def forget(self, item_id: int) -> None: ...
    def enter(self) -> bool: ...
    def leave(self) -> None: ...
    def close(self) -> None: ...


class _Room:
    """At most ``size`` placements at once in this process; the rest are told to wait."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.inside = 0
        self.lock = threading.Lock()

    def enter(self) -> bool:
        with self.lock:
            if self.inside >= self.size:
                return False
            self.inside += 1
            return True

    def leave(self) -> None:
        with self.lock:
            self.inside = max(self.inside - 1, 0)


class _Buckets:
    """Token buckets in this process (the SQL gate's rate limits)."""

    def __init__(self) -> None:
        self.states: dict[str, BucketState] = {}
        self.lock = threading.Lock()

    def take(self, key: str, bucket: Bucket, now: float) -> float:
        with self.lock:
            ok, state, wait = take_token(bucket, self.states.get(key), now)
            self.states[key] = state
            if len(self.states) > 200_000:  # forget the quiet ones
                cutoff = now - 60
                self.states = {k: s for k, s in self.states.items() if s.at >= cutoff}
            return 0.0 if ok else wait


class SqlGate:
    """No Redis: rate limits in this process, every other request on to the database
    (whose guarded updates hand out the units). Figures are this process's."""

    mode = "sql"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets = _Buckets()
        self._room = _Room(limits.max_in_flight)
        self._stats: dict[int, Counter[str]] = {}
        self._lock = threading.Lock()

    def _count(self, item_id: int, name: str) -> None:
        with self._lock:
            self._stats.setdefault(item_id, Counter())[name] += 1

    def admit(
        self,
        item_id: int,
        shopper_id: int,
        ip: str,
        quantity: int,
        now: datetime,
        rate_limit: bool = True,
    ) -> Admission:
        t = time.monotonic()
        buckets = ((f"s:{shopper_id}", self.limits.shopper), (f"ip:{ip}", self.limits.ip))
        for key, bucket in buckets if rate_limit else ():
            wait = self._buckets.take(key, bucket, t)
            if wait > 0:
                self._count(item_id, "rate_limited")
                return Admission(Refusal.rate_limited, wait)
        self._count(item_id, "requests")
        self._count(item_id, "passed")
        return Admission(None)

    async def admit_async(
        self,
        item_id: int,
        shopper_id: int,
        ip: str,
        quantity: int,
        now: datetime,
        rate_limit: bool = True,
        key: str = "",
    ) -> Admission:
        return self.admit(item_id, shopper_id, ip, quantity, now, rate_limit)

    def refused(self, item_id: int) -> None:
        with self._lock:
            counter = self._stats.setdefault(item_id, Counter())
            counter["refusals"] += 1
            counter["passed"] -= 1

    def give_back(self, item_id: int, shopper_id: int, quantity: int, token: str = "") -> None:
        return None  # the database's rollback or release is the give-back

    def load(self, item: ItemLoad, *, force: bool = False) -> bool:
        return False

    def counts(self, item_id: int) -> ItemCounts | None:
        return None  # the database is the only count

    def stats(self, item_id: int) -> dict[str, int]:
        with self._lock:
            counter = self._stats.get(item_id, Counter())
            return {name: int(counter[name]) for name in STATS}

    def forget(self, item_id: int) -> None:
        return None

    def enter(self) -> bool:
        return self._room.enter()

    def leave(self) -> None:
        self._room.leave()

    def close(self) -> None:
        return None


_ADMIT = """
local function take(key, rate, burst, now)
  local b = redis.call('HMGET', key, 't', 'at')
  local tokens = tonumber(b[1])
  if tokens == nil then
    tokens = burst
  else
    tokens = math.min(burst, tokens + math.max(now - tonumber(b[2]), 0) * rate)
  end
  local wait = 0
  if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
  redis.call('HSET', key, 't', tostring(tokens), 'at', tostring(now))
  redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
  return wait
end
local now = tonumber(ARGV[3])
local clock = redis.call('TIME')
local t = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local wait = 0
if ARGV[8] == '1' then
  wait = take(KEYS[3], tonumber(ARGV[4]), tonumber(ARGV[5]), t)
  if wait == 0 then wait = take(KEYS[4], tonumber(ARGV[6]), tonumber(ARGV[7]), t) end
end
if wait > 0 then
  redis.call('HINCRBY', KEYS[1], 'rate_limited', 1)
  return {4, math.ceil(wait * 1000)}
end
local item = redis.call('HMGET', KEYS[1], 'left', 'limit', 'starts', 'ends')
if not item[1] then return {-1, 0} end
redis.call('HINCRBY', KEYS[1], 'requests', 1)
local q = tonumber(ARGV[2])
local code = 0
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if now < tonumber(item[3]) or now >= tonumber(item[4]) then
  code = 3
elseif mine + q > tonumber(item[2]) then
  code = 2
  -- the keys of the shopper's passes, kept while all their units came through them
  local passes = redis.call('HGET', KEYS[5], ARGV[1])
  if ARGV[9] ~= '' and passes and not string.find(passes, '\\n' .. ARGV[9] .. '\\n', 1, true) then
    code = 5  -- at the limit, and not a retry of any pass
  end
elseif tonumber(item[1]) < q then
  code = 1
end
if code > 0 then
  redis.call('HINCRBY', KEYS[1], 'refusals', 1)
  return {code, 0}
end
redis.call('HINCRBY', KEYS[1], 'left', -q)
redis.call('HINCRBY', KEYS[2], ARGV[1], q)
redis.call('HINCRBY', KEYS[1], 'passed', 1)
if ARGV[9] ~= '' then
  local passes = redis.call('HGET', KEYS[5], ARGV[1])
  if mine == 0 then passes = '\\n' end
  if passes then
    redis.call('HSET', KEYS[5], ARGV[1], passes .. ARGV[9] .. '\\n')
    redis.call('EXPIRE', KEYS[5], math.max(redis.call('TTL', KEYS[1]), 60))
  end
end
return {0, 0}
"""

_LOAD = """
if ARGV[1] ~= '1' and redis.call('HEXISTS', KEYS[1], 'left') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'left', ARGV[2], 'limit', ARGV[3], 'starts', ARGV[4], 'ends', ARGV[5])
redis.call('DEL', KEYS[2], KEYS[4])
local n = tonumber(ARGV[7])
for i = 8, 7 + n do redis.call('SADD', KEYS[3], ARGV[i]) end
for i = 8 + n, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIREAT', KEYS[1], ARGV[6])
redis.call('EXPIREAT', KEYS[2], ARGV[6])
if n > 0 then redis.call('EXPIREAT', KEYS[3], ARGV[6]) end
return 1
"""

_GIVE_BACK = """
if ARGV[3] ~= '' and redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'left') == 0 then return 0 end
local q = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'left', q)
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if mine <= q then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])  -- their next pass starts the record afresh
else
  redis.call('HINCRBY', KEYS[2], ARGV[1], -q)
end
return 1
"""

_CODES = {1: Refusal.sold_out, 2: Refusal.limit, 3: Refusal.not_running, 4: Refusal.rate_limited,
          5: Refusal.limit}  # fmt: skip


class RedisGate:
    mode = "redis"

    def __init__(self, url: str, prefix: str, limits: Limits) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.limits = limits
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self._admit = self.client.register_script(_ADMIT)
        self._load = self.client.register_script(_LOAD)
        self._give_back = self.client.register_script(_GIVE_BACK)
        # event loop -> its caller of the admission script
        self._async: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._room = _Room(limits.max_in_flight)

    def keys(self, item_id: int) -> tuple[str, str, str, str]:
        base = f"{self.prefix}fs:{{{item_id}}}"
        return base, base + ":buyers", base + ":released", base + ":passes"

    def _args(
        self, item_id: int, shopper_id: int, ip: str, quantity: int, now: datetime, limit: bool,
        key: str = "",
    ) -> tuple[list[str], list[Any]]:  # fmt: skip
        item, buyers, _, passes = self.keys(item_id)
        keys = [item, buyers, f"{self.prefix}rl:s:{shopper_id}", f"{self.prefix}rl:ip:{ip}",
                passes]  # fmt: skip
        s, i = self.limits.shopper, self.limits.ip
        args = [shopper_id, quantity, f"{now.timestamp():.3f}", s.rate, s.burst, i.rate, i.burst,
                "1" if limit else "0", key]  # fmt: skip
        return keys, args

    @staticmethod
    def _answer(reply: list[Any]) -> Admission:
        code, wait_ms = int(reply[0]), int(reply[1])
        if code == -1:
            return Admission(None, loaded=False)
        if code == 0:
            return Admission(None)
        return Admission(_CODES[code], wait_ms / 1000, maybe_retry=code != 5)

    def admit(
        self,
        item_id: int,
        shopper_id: int,
        ip: str,
        quantity: int,
        now: datetime,
        rate_limit: bool = True,
    ) -> Admission:
        keys, args = self._args(item_id, shopper_id, ip, quantity, now, rate_limit)
        return self._answer(self._admit(keys=keys, args=args))

    async def admit_async(
        self,
        item_id: int,
        shopper_id: int,
        ip: str,
        quantity: int,
        now: datetime,
        rate_limit: bool = True,
        key: str = "",
    ) -> Admission:
        """``admit`` from asyncio; with ``key`` (the request's Idempotency-Key) the gate
        records the passes, and tells a shopper at their limit whether this can be a
        retry of one of them."""
        loop = asyncio.get_running_loop()
        call = self._async.get(loop)
        if call is None:  # a connection is bound to the loop it was made on
            call = open_script_caller(self.url, _ADMIT)
            if call is None:  # TLS or a Unix socket: redis-py's client
                from redis import asyncio as aioredis

                call = aioredis.Redis.from_url(self.url).register_script(_ADMIT)
            self._async[loop] = call
        keys, args = self._args(item_id, shopper_id, ip, quantity, now, rate_limit, key)
        return self._answer(await call(keys=keys, args=args))

    def refused(self, item_id: int) -> None:
        self.client.hincrby(self.keys(item_id)[0], "refusals", 1)

    def give_back(self, item_id: int, shopper_id: int, quantity: int, token: str = "") -> None:
        self._give_back(keys=list(self.keys(item_id)), args=[shopper_id, quantity, token])

    def load(self, item: ItemLoad, *, force: bool = False) -> bool:
        pairs: list[Any] = []
        for shopper, units in item.per_shopper.items():
            if units > 0:
                pairs += [shopper, units]
        # Redis expires by its own clock: a week after the end, or from now if later
        expire = int(max(item.ends_at.timestamp(), time.time())) + KEY_TTL_AFTER_END
        args = ["1" if force else "0", item.units_left, item.per_shopper_limit,
                int(item.starts_at.timestamp()), int(item.ends_at.timestamp()), expire,
                len(item.pending_releases), *item.pending_releases, *pairs]  # fmt: skip
        return bool(self._load(keys=list(self.keys(item.item_id)), args=args))

    def counts(self, item_id: int) -> ItemCounts | None:
        item, buyers, _, _ = self.keys(item_id)
        left = self.client.hget(item, "left")
        if left is None:
            return None
        per = {int(k): int(v) for k, v in self.client.hgetall(buyers).items() if int(v) > 0}
        return ItemCounts(item_id, int(left), per)

    def stats(self, item_id: int) -> dict[str, int]:
        values = self.client.hmget(self.keys(item_id)[0], list(STATS))
        return {name: int(v or 0) for name, v in zip(STATS, values, strict=True)}

    def forget(self, item_id: int) -> None:
        item, buyers, _, _ = self.keys(item_id)
        self.client.hdel(item, "left")  # the next request loads it again from the database

    def enter(self) -> bool:
        return self._room.enter()

    def leave(self) -> None:
        self._room.leave()

    def close(self) -> None:
        self.client.close()
        self._async.clear()


def open_gate(redis_url: str, prefix: str, limits: Limits) -> Gate:
    if redis_url:
        return RedisGate(redis_url, prefix, limits)
    return SqlGate(limits)

"""The gate's Redis script client against the test Redis: answers in order under many
concurrent calls, loads its script again after ``SCRIPT FLUSH``, fails the waiting
calls on a lost connection and connects again, and reports a script's error."""

from __future__ import annotations

import asyncio

import pytest
import redis

from siyu.flash_sale.script_client import ScriptCaller, ScriptError, open_script_caller
from tests.conftest import REDIS_URL

ECHO = "return {tonumber(ARGV[1]) * 2, redis.call('INCR', KEYS[1])}"


def _caller(script: str = ECHO) -> ScriptCaller:
    caller = open_script_caller(REDIS_URL, script)
    assert caller is not None
    return caller


def test_many_concurrent_calls_each_get_their_own_answer(redis_prefix: str) -> None:
    caller = _caller()
    key = f"{redis_prefix}count"

    async def run() -> list[list[int]]:
        return list(await asyncio.gather(*(caller([key], [i]) for i in range(500))))

    answers = asyncio.run(run())
    assert [a[0] for a in answers] == [i * 2 for i in range(500)]
    assert sorted(a[1] for a in answers) == list(range(1, 501))


def test_a_flushed_script_cache_loads_the_script_again(redis_prefix: str) -> None:
    caller = _caller()
    key = f"{redis_prefix}flushed"
    plain = redis.Redis.from_url(REDIS_URL)

    async def run() -> tuple[list[int], list[int]]:
        first = await caller([key], [1])
        plain.script_flush()
        return first, await caller([key], [2])

    first, second = asyncio.run(run())
    plain.close()
    assert (first, second) == ([2, 1], [4, 2])


def test_a_lost_connection_fails_its_calls_and_the_next_call_connects_again(
    redis_prefix: str,
) -> None:
    caller = _caller("return redis.call('INCR', KEYS[1])")
    key = f"{redis_prefix}lost"

    async def run() -> tuple[int, BaseException | int, int]:
        first = await caller([key], [])
        connection = caller._connection
        assert connection is not None and connection.transport is not None
        waiting = asyncio.ensure_future(caller([key], []))
        await asyncio.sleep(0)  # the call is written and waiting
        connection.transport.abort()
        lost = await asyncio.gather(waiting, return_exceptions=True)
        return first, lost[0], await caller([key], [])

    first, lost, again = asyncio.run(run())
    assert first == 1
    assert isinstance(lost, ConnectionError | int)  # lost, or answered just before
    assert again in (2, 3)


def test_a_script_error_is_raised_not_returned(redis_prefix: str) -> None:
    caller = _caller("return redis.error_reply('BAD nothing here')")
    with pytest.raises(ScriptError, match="BAD"):
        asyncio.run(caller([f"{redis_prefix}x"], []))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6390/3", ("127.0.0.1", 6390, 3, ())),
        ("redis://:s%40cret@cache.local", ("cache.local", 6379, 0, ("s@cret",))),
        ("redis://siyu:pw@cache.local:7000/1", ("cache.local", 7000, 1, ("siyu", "pw"))),
        ("rediss://cache.local:6380", None),  # TLS: redis-py's client
        ("unix:///run/redis.sock", None),
        ("redis://cache.local/notanumber", None),
    ],
)
def test_only_plain_tcp_urls_get_the_fast_client(
    url: str, expected: tuple[object, ...] | None
) -> None:
    caller = open_script_caller(url, ECHO)
    got = None if caller is None else (caller.host, caller.port, caller.db, caller.auth)
    assert got == expected

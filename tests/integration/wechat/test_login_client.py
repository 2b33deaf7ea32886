"""WeChatApiClient against a real-HTTP fake of api.weixin.qq.com."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from siyu.clock import FrozenClock
from siyu.wechat.login import PhoneInfo, SessionInfo, WeChatApiClient, WeChatApiError
from tests.fakes.wechat_api import FakeWeChatApi


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def client(
    http: httpx.Client, fake_wechat_api: FakeWeChatApi, clock: FrozenClock
) -> WeChatApiClient:
    return WeChatApiClient(
        http,
        appid=fake_wechat_api.appid,
        secret=fake_wechat_api.secret,
        base_url=fake_wechat_api.base_url,
        now=clock.now,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_login_code_is_exchanged_for_openid_and_session_key_without_unionid(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_login_code("code-1", openid="o_user_1")

    # when
    session = client.code_to_session("code-1")

    # then
    assert session == SessionInfo(
        openid="o_user_1",
        session_key=fake_wechat_api.session_keys["o_user_1"],
        unionid=None,
    )


def test_a_login_code_is_exchanged_for_openid_and_unionid_when_bound_to_open_platform(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_login_code("code-2", openid="o_user_2", unionid="u_union_2")

    # when
    session = client.code_to_session("code-2")

    # then
    assert session.openid == "o_user_2"
    assert session.unionid == "u_union_2"


def test_the_session_key_is_not_shown_in_the_session_info_repr(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_login_code("code-3", openid="o_user_3")

    # when
    session = client.code_to_session("code-3")

    # then
    assert session.session_key not in repr(session)
    assert repr(session) == "SessionInfo(openid='o_user_3', unionid=None)"


def test_an_unknown_login_code_raises_40029(client: WeChatApiClient) -> None:
    # when
    with pytest.raises(WeChatApiError) as caught:
        client.code_to_session("never-issued")

    # then
    assert caught.value.errcode == 40029
    assert caught.value.errmsg == "invalid code"


def test_a_login_code_used_twice_raises_40163_the_second_time(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_login_code("code-once", openid="o_user_4")
    client.code_to_session("code-once")

    # when
    with pytest.raises(WeChatApiError) as caught:
        client.code_to_session("code-once")

    # then
    assert caught.value.errcode == 40163
    assert caught.value.errmsg == "code been used"


@pytest.mark.parametrize(
    ("errcode", "errmsg"),
    [
        (45011, "api minute-quota reach limit mustslower retry next minute"),
        (40226, "invalid user, high risk user"),
        (-1, "system error"),
    ],
)
def test_a_login_error_from_wechat_raises_with_its_errcode(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi, errcode: int, errmsg: str
) -> None:
    # given
    fake_wechat_api.add_login_code("code-5", openid="o_user_5")
    fake_wechat_api.fail_next(errcode, errmsg)

    # when
    with pytest.raises(WeChatApiError) as caught:
        client.code_to_session("code-5")

    # then
    assert caught.value.errcode == errcode
    assert caught.value.errmsg == errmsg


def test_a_wrong_app_secret_raises_40125(
    http: httpx.Client, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    client = WeChatApiClient(
        http, appid=fake_wechat_api.appid, secret="wrong", base_url=fake_wechat_api.base_url
    )
    fake_wechat_api.add_login_code("code-6", openid="o_user_6")

    # when
    with pytest.raises(WeChatApiError) as caught:
        client.code_to_session("code-6")

    # then
    assert caught.value.errcode == 40125


def test_a_5xx_html_answer_raises_system_busy(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_login_code("code-7", openid="o_user_7")
    fake_wechat_api.fail_next_status(502)

    # when
    with pytest.raises(WeChatApiError) as caught:
        client.code_to_session("code-7")

    # then
    assert caught.value.errcode == -1
    assert caught.value.errmsg == "HTTP 502 from /sns/jscode2session"


def test_an_unreachable_api_raises_system_busy(http: httpx.Client) -> None:
    # given
    client = WeChatApiClient(
        http, appid="wxa", secret="s", base_url=f"http://127.0.0.1:{_closed_port()}"
    )

    # when
    with pytest.raises(WeChatApiError) as caught:
        client.code_to_session("code-8")

    # then
    assert caught.value.errcode == -1
    assert caught.value.errmsg == "network error calling /sns/jscode2session: ConnectError"


def test_a_phone_code_is_exchanged_for_the_phone_number(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_phone_code("phone-1")

    # when
    phone = client.get_phone_number("phone-1", openid="o_user_1")

    # then
    assert phone == PhoneInfo(
        phone_number="13800138000", pure_phone_number="13800138000", country_code="86"
    )


def test_a_numeric_country_code_is_returned_as_a_string(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_phone_code("phone-2", phone="91234567", country_code=852)

    # when
    phone = client.get_phone_number("phone-2")

    # then
    assert phone == PhoneInfo(
        phone_number="+85291234567", pure_phone_number="91234567", country_code="852"
    )


def test_a_phone_code_works_only_once(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_phone_code("phone-3")
    client.get_phone_number("phone-3")

    # when
    with pytest.raises(WeChatApiError) as caught:
        client.get_phone_number("phone-3")

    # then
    assert caught.value.errcode == 40029


def test_a_phone_number_watermarked_for_another_appid_is_rejected_with_minus_two(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_phone_code("phone-4", watermark_appid="wxsomeoneelse0001")

    # when
    with pytest.raises(WeChatApiError) as caught:
        client.get_phone_number("phone-4")

    # then
    assert caught.value.errcode == -2


def test_the_access_token_is_fetched_once_for_two_phone_number_calls(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_phone_code("phone-5")
    fake_wechat_api.add_phone_code("phone-6")

    # when
    client.get_phone_number("phone-5")
    client.get_phone_number("phone-6")

    # then
    assert fake_wechat_api.token_calls == 1


def test_an_invalidated_access_token_is_refreshed_once_and_the_call_retried(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_phone_code("phone-7")
    fake_wechat_api.add_phone_code("phone-8", phone="13900139000")
    client.get_phone_number("phone-7")
    old_token = fake_wechat_api.current_token
    fake_wechat_api.expire_tokens()

    # when
    phone = client.get_phone_number("phone-8")

    # then
    assert phone.pure_phone_number == "13900139000"
    assert fake_wechat_api.token_calls == 2
    assert client.get_access_token() == fake_wechat_api.current_token
    assert fake_wechat_api.current_token != old_token


def test_a_token_error_on_the_retry_is_raised_without_a_second_refresh(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    fake_wechat_api.add_phone_code("phone-9")
    fake_wechat_api.fail_next(40001, "invalid credential")
    fake_wechat_api.fail_next(40001, "invalid credential")

    # when
    with pytest.raises(WeChatApiError) as caught:
        client.get_phone_number("phone-9")

    # then
    assert caught.value.errcode == 40001
    assert fake_wechat_api.token_calls == 2


def test_the_cached_token_is_reused_until_five_minutes_before_expiry(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi, clock: FrozenClock
) -> None:
    # given
    client.get_access_token()
    clock.advance(timedelta(seconds=7200 - 301))

    # when
    client.get_access_token()

    # then
    assert fake_wechat_api.token_calls == 1


def test_the_cached_token_is_refetched_within_five_minutes_of_expiry(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi, clock: FrozenClock
) -> None:
    # given
    client.get_access_token()
    clock.advance(timedelta(seconds=7200 - 300))

    # when
    client.get_access_token()

    # then
    assert fake_wechat_api.token_calls == 2


def test_force_refresh_skips_the_cache_but_keeps_the_platform_token(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    first = client.get_access_token()

    # when
    second = client.get_access_token(force_refresh=True)

    # then
    assert second == first
    assert fake_wechat_api.token_calls == 2


def test_concurrent_token_requests_share_one_fetch(
    client: WeChatApiClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given
    barrier = threading.Barrier(8)
    tokens: list[str] = []

    def fetch() -> None:
        barrier.wait()
        tokens.append(client.get_access_token())

    threads = [threading.Thread(target=fetch) for _ in range(8)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert fake_wechat_api.token_calls == 1
    assert tokens == [fake_wechat_api.current_token] * 8

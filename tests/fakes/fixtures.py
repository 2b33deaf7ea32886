"""Pytest fixtures for the fake WeChat servers (loaded by the root conftest)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator

import pytest

from siyu.wechat.pay import WeChatPayConfig
from tests.fakes.wechat_api import FakeWeChatApi
from tests.fakes.wechatpay import FakeWeChatPay, MerchantKeys, generate_merchant_keys

TEST_MCHID = "1900000109"
TEST_APPID = "wxtestappid0000001"
TEST_NOTIFY_URL = "http://127.0.0.1:9/api/payment/notify/wechatpay"
TEST_REFUND_NOTIFY_URL = "http://127.0.0.1:9/api/payment/notify/wechatpay/refund"


@pytest.fixture(scope="session")
def merchant_keys() -> MerchantKeys:
    return generate_merchant_keys()


@pytest.fixture
def fake_wechat_api() -> Iterator[FakeWeChatApi]:
    fake = FakeWeChatApi(appid=TEST_APPID)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_wechatpay(merchant_keys: MerchantKeys) -> Iterator[FakeWeChatPay]:
    apiv3_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    fake = FakeWeChatPay(
        merchant_keys.public_key_pem,
        mchid=TEST_MCHID,
        appid=TEST_APPID,
        apiv3_key=apiv3_key,
        merchant_serial_no=merchant_keys.serial_no,
    )
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def wechatpay_config(merchant_keys: MerchantKeys, fake_wechatpay: FakeWeChatPay) -> WeChatPayConfig:
    return WeChatPayConfig(
        mchid=TEST_MCHID,
        appid=TEST_APPID,
        merchant_serial_no=merchant_keys.serial_no,
        merchant_private_key_pem=merchant_keys.private_key_pem,
        platform_public_key_pem=fake_wechatpay.platform_public_key_pem,
        platform_public_key_id=fake_wechatpay.platform_public_key_id,
        apiv3_key=fake_wechatpay.apiv3_key,
        notify_url=TEST_NOTIFY_URL,
        refund_notify_url=TEST_REFUND_NOTIFY_URL,
        base_url=fake_wechatpay.base_url,
    )

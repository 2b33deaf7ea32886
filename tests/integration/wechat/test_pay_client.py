"""WeChatPayClient against a real-HTTP fake of the WeChat Pay v3 gateway."""

from __future__ import annotations

import json
import socket
from base64 import b64decode
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from siyu.wechat.pay import (
    NotificationRejected,
    WeChatPayClient,
    WeChatPayConfig,
    WeChatPayError,
)
from tests.fakes.wechatpay import FakeWeChatPay, MerchantKeys, generate_rsa_key_pair

OPENID = "o_payer_0000000000000000001"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def client(http: httpx.Client, wechatpay_config: WeChatPayConfig) -> WeChatPayClient:
    return WeChatPayClient(http, wechatpay_config)


def _in_15_minutes() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)


def _prepay(client: WeChatPayClient, out_trade_no: str, amount_fen: int = 2990) -> str:
    return client.jsapi_prepay(
        out_trade_no=out_trade_no,
        description="私域小店-测试商品",
        amount_fen=amount_fen,
        payer_openid=OPENID,
        time_expire=_in_15_minutes(),
    )


def _paid_order(
    client: WeChatPayClient, fake: FakeWeChatPay, out_trade_no: str, amount_fen: int = 2990
) -> None:
    _prepay(client, out_trade_no, amount_fen)
    fake.pay(out_trade_no)


def _tampered(body: bytes, **changes: str) -> bytes:
    envelope = json.loads(body)
    envelope["resource"].update(changes)
    return json.dumps(envelope).encode()


def _flip_last_char(text: str) -> str:
    return text[:-5] + ("A" if text[-5] != "A" else "B") + text[-4:]


# -- prepay and request signing ------------------------------------------------


def test_prepay_returns_the_prepay_id_recorded_by_the_gateway(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # when
    prepay_id = client.jsapi_prepay(
        out_trade_no="SY2025030100001",
        description="私域小店-测试商品",
        amount_fen=2990,
        payer_openid=OPENID,
        time_expire=datetime(2099, 1, 1, 2, 0, tzinfo=UTC),
        attach="order:17",
    )

    # then
    transaction = fake_wechatpay.transactions["SY2025030100001"]
    assert prepay_id == transaction["prepay_id"]
    assert transaction["trade_state"] == "NOTPAY"
    assert transaction["request"] == {
        "appid": "wxtestappid0000001",
        "mchid": "1900000109",
        "description": "私域小店-测试商品",
        "out_trade_no": "SY2025030100001",
        "time_expire": "2099-01-01T10:00:00+08:00",
        "notify_url": "http://127.0.0.1:9/api/payment/notify/wechatpay",
        "amount": {"total": 2990, "currency": "CNY"},
        "payer": {"openid": OPENID},
        "attach": "order:17",
    }


def test_every_request_carries_the_platform_public_key_id_as_wechatpay_serial(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # when
    _prepay(client, "SY2025030100002")

    # then
    request = fake_wechatpay.requests[-1]
    assert request.headers["wechatpay-serial"] == fake_wechatpay.platform_public_key_id
    assert request.headers["authorization"].startswith(
        'WECHATPAY2-SHA256-RSA2048 mchid="1900000109"'
    )


def test_a_request_signed_with_the_wrong_merchant_key_is_rejected_with_401(
    http: httpx.Client, wechatpay_config: WeChatPayConfig, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    other_key = generate_rsa_key_pair().private_key_pem
    client = WeChatPayClient(http, replace(wechatpay_config, merchant_private_key_pem=other_key))

    # when
    with pytest.raises(WeChatPayError) as caught:
        _prepay(client, "SY2025030100003")

    # then
    assert caught.value.status_code == 401
    assert caught.value.code == "SIGN_ERROR"
    assert caught.value.message == "签名错误"
    assert fake_wechatpay.transactions == {}


def test_a_request_timestamp_more_than_five_minutes_off_is_rejected_with_401(
    http: httpx.Client, wechatpay_config: WeChatPayConfig
) -> None:
    # given
    client = WeChatPayClient(
        http, wechatpay_config, now=lambda: datetime.now(UTC) - timedelta(minutes=6)
    )

    # when
    with pytest.raises(WeChatPayError) as caught:
        _prepay(client, "SY2025030100004")

    # then
    assert caught.value.status_code == 401
    assert caught.value.code == "SIGN_ERROR"
    assert caught.value.message == "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"


def test_prepay_repeated_with_identical_params_returns_the_same_prepay_id(
    client: WeChatPayClient,
) -> None:
    # given
    time_expire = _in_15_minutes()

    def prepay() -> str:
        return client.jsapi_prepay(
            out_trade_no="SY2025030100005",
            description="私域小店-测试商品",
            amount_fen=2990,
            payer_openid=OPENID,
            time_expire=time_expire,
        )

    first = prepay()

    # when
    second = prepay()

    # then
    assert second == first


def test_prepay_repeated_with_a_different_amount_is_rejected_as_invalid_request(
    client: WeChatPayClient,
) -> None:
    # given
    _prepay(client, "SY2025030100006", amount_fen=2990)

    # when
    with pytest.raises(WeChatPayError) as caught:
        _prepay(client, "SY2025030100006", amount_fen=1990)

    # then
    assert caught.value.status_code == 400
    assert caught.value.code == "INVALID_REQUEST"


def test_prepay_with_a_notify_url_carrying_a_query_string_is_rejected(
    http: httpx.Client, wechatpay_config: WeChatPayConfig
) -> None:
    # given
    config = replace(wechatpay_config, notify_url=wechatpay_config.notify_url + "?shop=1")
    client = WeChatPayClient(http, config)

    # when
    with pytest.raises(WeChatPayError) as caught:
        _prepay(client, "SY2025030100007")

    # then
    assert caught.value.status_code == 400
    assert caught.value.code == "PARAM_ERROR"


def test_request_payment_params_carry_a_pay_sign_verifiable_with_the_merchant_public_key(
    client: WeChatPayClient, merchant_keys: MerchantKeys
) -> None:
    # given
    prepay_id = _prepay(client, "SY2025030100008")

    # when
    params = client.request_payment_params(prepay_id, now=datetime(2025, 3, 1, 8, 0, tzinfo=UTC))

    # then
    assert params["appId"] == "wxtestappid0000001"
    assert params["timeStamp"] == "1740816000"
    assert len(params["nonceStr"]) == 32
    assert params["package"] == f"prepay_id={prepay_id}"
    assert params["signType"] == "RSA"
    message = (
        f"wxtestappid0000001\n1740816000\n{params['nonceStr']}\nprepay_id={prepay_id}\n"
    ).encode()
    public_key = load_pem_public_key(merchant_keys.public_key_pem.encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        b64decode(params["paySign"]),
        message,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


# -- response verification -------------------------------------------------------


def test_an_answer_signed_by_another_key_raises_invalid_signature(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    fake_wechatpay.response_signing_key = generate_rsa_key_pair().private_key

    # when
    with pytest.raises(WeChatPayError) as caught:
        _prepay(client, "SY2025030100009")

    # then
    assert caught.value.status_code == 200
    assert caught.value.code == "INVALID_SIGNATURE"


def test_an_unsigned_answer_raises_invalid_signature(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    fake_wechatpay.sign_responses = False

    # when
    with pytest.raises(WeChatPayError) as caught:
        _prepay(client, "SY2025030100010")

    # then
    assert caught.value.status_code == 200
    assert caught.value.code == "INVALID_SIGNATURE"


def test_a_204_answer_signed_by_another_key_raises_invalid_signature(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _prepay(client, "SY2025030100011")
    fake_wechatpay.response_signing_key = generate_rsa_key_pair().private_key

    # when
    with pytest.raises(WeChatPayError) as caught:
        client.close_order("SY2025030100011")

    # then
    assert caught.value.status_code == 204
    assert caught.value.code == "INVALID_SIGNATURE"


def test_an_unreachable_gateway_raises_network_error(
    http: httpx.Client, wechatpay_config: WeChatPayConfig
) -> None:
    # given
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = WeChatPayClient(http, replace(wechatpay_config, base_url=f"http://127.0.0.1:{port}"))

    # when
    with pytest.raises(WeChatPayError) as caught:
        client.query_order("SY2025030100012")

    # then
    assert caught.value.status_code == 0
    assert caught.value.code == "NETWORK_ERROR"


# -- query and close -----------------------------------------------------------------


def test_query_order_reports_notpay_before_payment(client: WeChatPayClient) -> None:
    # given
    _prepay(client, "SY2025030100013")

    # when
    order = client.query_order("SY2025030100013")

    # then
    assert order["trade_state"] == "NOTPAY"
    assert order["amount"]["total"] == 2990
    assert "transaction_id" not in order


def test_query_order_reports_success_and_the_transaction_id_after_payment(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100014")

    # when
    order = client.query_order("SY2025030100014")

    # then
    assert order["trade_state"] == "SUCCESS"
    assert (
        order["transaction_id"] == fake_wechatpay.transactions["SY2025030100014"]["transaction_id"]
    )
    assert order["amount"]["payer_total"] == 2990
    assert order["payer"] == {"openid": OPENID}


def test_an_out_trade_no_with_reserved_url_characters_is_queried_by_its_encoded_path(
    client: WeChatPayClient,
) -> None:
    # given
    _prepay(client, "SY|2025*0301")

    # when
    order = client.query_order("SY|2025*0301")

    # then
    assert order["out_trade_no"] == "SY|2025*0301"


def test_querying_an_unknown_order_raises_order_not_exist(client: WeChatPayClient) -> None:
    # when
    with pytest.raises(WeChatPayError) as caught:
        client.query_order("SY_NEVER_CREATED")

    # then
    assert caught.value.status_code == 404
    assert caught.value.code == "ORDER_NOT_EXIST"


def test_close_order_closes_an_unpaid_order(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _prepay(client, "SY2025030100015")

    # when
    client.close_order("SY2025030100015")

    # then
    assert fake_wechatpay.transactions["SY2025030100015"]["trade_state"] == "CLOSED"
    assert client.query_order("SY2025030100015")["trade_state"] == "CLOSED"


def test_closing_a_paid_order_raises_orderpaid(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100016")

    # when
    with pytest.raises(WeChatPayError) as caught:
        client.close_order("SY2025030100016")

    # then
    assert caught.value.status_code == 400
    assert caught.value.code == "ORDERPAID"


# -- refunds ---------------------------------------------------------------------------


def test_a_refund_is_accepted_as_processing(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100017")

    # when
    refund = client.refund(
        out_refund_no="RF2025030100017",
        out_trade_no="SY2025030100017",
        refund_fen=1000,
        total_fen=2990,
        reason="不想要了",
    )

    # then
    assert refund["status"] == "PROCESSING"
    assert refund["out_refund_no"] == "RF2025030100017"
    assert refund["amount"]["refund"] == 1000
    assert refund["amount"]["total"] == 2990
    assert fake_wechatpay.refunds["RF2025030100017"]["notify_url"] == (
        "http://127.0.0.1:9/api/payment/notify/wechatpay/refund"
    )


def test_a_refund_retried_with_the_same_out_refund_no_returns_the_same_refund(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100018")
    first = client.refund(
        out_refund_no="RF2025030100018",
        out_trade_no="SY2025030100018",
        refund_fen=2990,
        total_fen=2990,
        reason="缺货",
    )

    # when
    second = client.refund(
        out_refund_no="RF2025030100018",
        out_trade_no="SY2025030100018",
        refund_fen=2990,
        total_fen=2990,
        reason="缺货",
    )

    # then
    assert second["refund_id"] == first["refund_id"]
    assert list(fake_wechatpay.refunds) == ["RF2025030100018"]


def test_refunds_beyond_the_order_total_are_rejected_as_invalid_request(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100019")
    client.refund(
        out_refund_no="RF2025030100019-1",
        out_trade_no="SY2025030100019",
        refund_fen=2000,
        total_fen=2990,
        reason="部分退款",
    )

    # when
    with pytest.raises(WeChatPayError) as caught:
        client.refund(
            out_refund_no="RF2025030100019-2",
            out_trade_no="SY2025030100019",
            refund_fen=1000,
            total_fen=2990,
            reason="部分退款",
        )

    # then
    assert caught.value.status_code == 400
    assert caught.value.code == "INVALID_REQUEST"
    assert list(fake_wechatpay.refunds) == ["RF2025030100019-1"]


def test_query_refund_reports_success_after_the_refund_completes(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100020")
    client.refund(
        out_refund_no="RF2025030100020",
        out_trade_no="SY2025030100020",
        refund_fen=2990,
        total_fen=2990,
        reason="缺货",
    )
    fake_wechatpay.complete_refund("RF2025030100020")

    # when
    refund = client.query_refund("RF2025030100020")

    # then
    assert refund["status"] == "SUCCESS"
    assert refund["out_trade_no"] == "SY2025030100020"


# -- notifications -------------------------------------------------------------------------


def test_a_payment_notification_is_verified_and_decrypted(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _prepay(client, "SY2025030100021")
    headers, body = fake_wechatpay.pay("SY2025030100021")

    # when
    notification = client.parse_notification(headers, body, now=datetime.now(UTC))

    # then
    transaction = fake_wechatpay.transactions["SY2025030100021"]
    assert notification.event_type == "TRANSACTION.SUCCESS"
    assert notification.id.startswith("EV-")
    assert notification.resource["out_trade_no"] == "SY2025030100021"
    assert notification.resource["transaction_id"] == transaction["transaction_id"]
    assert notification.resource["trade_state"] == "SUCCESS"
    assert notification.resource["amount"]["total"] == 2990
    assert notification.resource["mchid"] == "1900000109"
    assert notification.resource["appid"] == "wxtestappid0000001"


def test_notification_headers_are_matched_case_insensitively(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _prepay(client, "SY2025030100022")
    headers, body = fake_wechatpay.pay("SY2025030100022")
    lowered = {name.lower(): value for name, value in headers.items()}

    # when
    notification = client.parse_notification(lowered, body, now=datetime.now(UTC))

    # then
    assert notification.resource["out_trade_no"] == "SY2025030100022"


def test_a_notification_with_a_tampered_amount_is_still_parsed_for_the_caller_to_check(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _prepay(client, "SY2025030100023")
    headers, body = fake_wechatpay.pay("SY2025030100023", amount_fen=1)

    # when
    notification = client.parse_notification(headers, body, now=datetime.now(UTC))

    # then
    assert notification.resource["amount"]["total"] == 1


def test_a_resent_notification_keeps_its_event_id(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100024")
    headers, body = fake_wechatpay.notification_for("SY2025030100024", event_id="EV-resend-1")

    # when
    notification = client.parse_notification(headers, body, now=datetime.now(UTC))

    # then
    assert notification.id == "EV-resend-1"


def test_a_notification_signed_by_a_forger_is_rejected_as_bad_signature(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100025")
    forger = generate_rsa_key_pair().private_key
    headers, body = fake_wechatpay.notification_for("SY2025030100025", sign_with=forger)

    # when
    with pytest.raises(NotificationRejected) as caught:
        client.parse_notification(headers, body, now=datetime.now(UTC))

    # then
    assert caught.value.reason == "bad_signature"


def test_a_notification_body_changed_after_signing_is_rejected_as_bad_signature(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100026")
    headers, body = fake_wechatpay.notification_for("SY2025030100026")

    # when
    with pytest.raises(NotificationRejected) as caught:
        client.parse_notification(headers, body + b" ", now=datetime.now(UTC))

    # then
    assert caught.value.reason == "bad_signature"


def test_a_notification_older_than_five_minutes_is_rejected_as_stale(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100027")
    now = datetime.now(UTC)
    headers, body = fake_wechatpay.notification_for(
        "SY2025030100027", timestamp=now - timedelta(seconds=301)
    )

    # when
    with pytest.raises(NotificationRejected) as caught:
        client.parse_notification(headers, body, now=now)

    # then
    assert caught.value.reason == "stale_timestamp"


def test_a_notification_with_tampered_ciphertext_is_rejected_as_decrypt_failed(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100028")
    _, body = fake_wechatpay.notification_for("SY2025030100028")
    ciphertext = json.loads(body)["resource"]["ciphertext"]
    tampered = _tampered(body, ciphertext=_flip_last_char(ciphertext))
    headers = fake_wechatpay.sign_notification(tampered)

    # when
    with pytest.raises(NotificationRejected) as caught:
        client.parse_notification(headers, tampered, now=datetime.now(UTC))

    # then
    assert caught.value.reason == "decrypt_failed"


def test_a_notification_with_changed_associated_data_is_rejected_as_decrypt_failed(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100029")
    _, body = fake_wechatpay.notification_for("SY2025030100029")
    tampered = _tampered(body, associated_data="")
    headers = fake_wechatpay.sign_notification(tampered)

    # when
    with pytest.raises(NotificationRejected) as caught:
        client.parse_notification(headers, tampered, now=datetime.now(UTC))

    # then
    assert caught.value.reason == "decrypt_failed"


def test_a_notification_from_an_unknown_serial_is_rejected(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100030")
    headers, body = fake_wechatpay.notification_for("SY2025030100030")
    headers["Wechatpay-Serial"] = "PUB_KEY_ID_0100000000000000000000000000000"

    # when
    with pytest.raises(NotificationRejected) as caught:
        client.parse_notification(headers, body, now=datetime.now(UTC))

    # then
    assert caught.value.reason == "unknown_serial"


def test_a_notification_with_another_signature_type_is_rejected(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100031")
    headers, body = fake_wechatpay.notification_for("SY2025030100031")
    headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"

    # when
    with pytest.raises(NotificationRejected) as caught:
        client.parse_notification(headers, body, now=datetime.now(UTC))

    # then
    assert caught.value.reason == "bad_signature_type"


def test_a_refund_notification_is_verified_and_decrypted(
    client: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    # given
    _paid_order(client, fake_wechatpay, "SY2025030100032")
    client.refund(
        out_refund_no="RF2025030100032",
        out_trade_no="SY2025030100032",
        refund_fen=500,
        total_fen=2990,
        reason="部分退款",
    )
    headers, body = fake_wechatpay.complete_refund("RF2025030100032")

    # when
    notification = client.parse_notification(headers, body, now=datetime.now(UTC))

    # then
    assert notification.event_type == "REFUND.SUCCESS"
    assert notification.resource["out_refund_no"] == "RF2025030100032"
    assert notification.resource["refund_status"] == "SUCCESS"
    assert notification.resource["amount"] == {
        "total": 2990,
        "refund": 500,
        "payer_total": 2990,
        "payer_refund": 500,
    }

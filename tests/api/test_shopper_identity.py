"""Shopper identity through the HTTP API: WeChat login (sandbox and, against a fake
WeChat server, live), entry attribution, device ids, phone binding."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import FrozenClock
from siyu.identity.models import Shopper, ShopperDevice
from siyu.identity.service import find_shopper_by_phone
from siyu.outbox import OutboxEvent
from tests.conftest import make_settings
from tests.fakes.wechat_api import FakeWeChatApi


def login(client: TestClient, code: str, anonymous_id: str | None = None, **entry: Any) -> Any:
    headers = {"X-Siyu-Anonymous-Id": anonymous_id} if anonymous_id else {}
    return client.post("/api/app/login", json={"code": code, **entry}, headers=headers)


def bearer(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def shopper_count(ctx: Context) -> int:
    with ctx.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Shopper)) or 0


def events(ctx: Context, event_type: str) -> list[dict[str, Any]]:
    with ctx.db.transaction() as session:
        return list(
            session.scalars(
                select(OutboxEvent.payload)
                .where(OutboxEvent.event_type == event_type)
                .order_by(OutboxEvent.id)
            )
        )


# ---------------------------------------------------------------- sandbox login


def test_the_first_login_registers_the_shopper_and_later_logins_find_them(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper who logs in for the first time
    first = login(client, "wx-alice")
    assert first.status_code == 200

    # when they log in again with a new code from the same WeChat account
    second = login(client, "wx-alice")

    # then they are the same shopper, new only the first time
    assert (first.json()["is_new"], second.json()["is_new"]) == (True, False)
    assert first.json()["shopper"]["id"] == second.json()["shopper"]["id"]
    assert shopper_count(ctx) == 1
    assert len(events(ctx, "shopper.registered")) == 1
    assert len(events(ctx, "shopper.logged_in")) == 2


def test_entry_attribution_is_stored_at_registration_and_never_overwritten(
    client: TestClient, ctx: Context
) -> None:
    # given a sharer, and a new shopper who arrives through the sharer's QR code
    sharer_id = login(client, "wx-sharer").json()["shopper"]["id"]
    first = login(
        client,
        "wx-bob",
        anonymous_id="device-bob-0001",
        scene=1047,
        qr_scene=f"c=AB12&s={sharer_id}",
    )
    bob_id = first.json()["shopper"]["id"]

    # when bob later comes back through another channel on another device
    again = login(
        client, "wx-bob", anonymous_id="device-bob-0002", scene=1011, qr_scene="c=ZZ99&s=77"
    )

    # then the first entry is what is remembered, both devices are linked to bob
    assert (first.json()["is_new"], again.json()["is_new"]) == (True, False)
    with ctx.db.transaction() as session:
        bob = session.get(Shopper, bob_id)
        assert bob is not None
        assert (
            bob.first_scene,
            bob.first_channel_code,
            bob.first_sharer_id,
            bob.first_anonymous_id,
        ) == (1047, "AB12", sharer_id, "device-bob-0001")
        devices = session.scalars(
            select(ShopperDevice.anonymous_id)
            .where(ShopperDevice.shopper_id == bob_id)
            .order_by(ShopperDevice.anonymous_id)
        ).all()
    assert devices == ["device-bob-0001", "device-bob-0002"]

    # and one registration event carries the attribution
    assert events(ctx, "shopper.registered") == [
        {
            "shopper_id": sharer_id,
            "scene": None,
            "channel_code": None,
            "sharer_id": None,
            "anonymous_id": None,
        },
        {
            "shopper_id": bob_id,
            "scene": 1047,
            "channel_code": "AB12",
            "sharer_id": sharer_id,
            "anonymous_id": "device-bob-0001",
        },
    ]


def test_a_sharer_id_that_cannot_be_a_shopper_is_ignored_and_the_login_succeeds(
    client: TestClient, ctx: Context
) -> None:
    # when shoppers arrive with a sharer id past 64 bits, in the body or in a QR scene
    in_body = login(client, "wx-carol", sharer_id=10**30)
    in_qr = login(client, "wx-dave", qr_scene="c=AB12&s=99999999999999999999999")

    # then both get in, with the sharer dropped and the channel kept
    assert (in_body.status_code, in_qr.status_code) == (200, 200)
    assert [(e["sharer_id"], e["channel_code"]) for e in events(ctx, "shopper.registered")] == [
        (None, None),
        (None, "AB12"),
    ]


@pytest.mark.parametrize(
    "anonymous_id",
    ["short1", "has spaces in it", "x" * 65, "semi;colon-0000"],
    ids=["too-short", "spaces", "too-long", "punctuation"],
)
def test_a_malformed_anonymous_id_header_is_refused_with_the_error_shape(
    client: TestClient, ctx: Context, anonymous_id: str
) -> None:
    # when a client sends a malformed device id
    response = login(client, "wx-erin", anonymous_id=anonymous_id)

    # then it is a 422 naming the header, and nobody was registered
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == (
        "bad_anonymous_id",
        {"X-Siyu-Anonymous-Id": "invalid"},
    )
    assert "X-Siyu-Anonymous-Id" in error["message"]
    assert shopper_count(ctx) == 0


# ---------------------------------------------------------------- phone (sandbox)


def test_a_shopper_sets_a_nickname_and_avatar_and_bad_values_change_nothing(
    client: TestClient, ctx: Context
) -> None:
    # given a logged-in shopper
    auth = bearer(login(client, "wx-nick"))

    # when they choose a nickname (with stray spaces) and an avatar
    saved = client.patch(
        "/api/app/me",
        json={"nickname": "  小 \t 林  ", "avatar_url": "https://img.example.com/a/1.png"},
        headers=auth,
    )

    # then both are stored, the nickname tidied
    assert saved.status_code == 200, saved.text
    assert saved.json()["nickname"] == "小 林"
    assert saved.json()["avatar_url"] == "https://img.example.com/a/1.png"
    assert client.get("/api/app/me", headers=auth).json()["nickname"] == "小 林"

    # and a field left out stays as it is
    only_avatar = client.patch("/api/app/me", json={"avatar_url": ""}, headers=auth)
    assert only_avatar.json() == {**only_avatar.json(), "nickname": "小 林", "avatar_url": ""}

    # when a request holds one bad field, nothing changes and the field is named
    bad = [
        ({"nickname": "   "}, "nickname"),
        ({"nickname": "x" * 21}, "nickname"),
        ({"nickname": "a\u0007b"}, "nickname"),  # a control character
        ({"nickname": "ab\u200b"}, "nickname"),  # zero-width space
        ({"nickname": "新名字", "avatar_url": "http://img.example.com/a.png"}, "avatar_url"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"avatar_url": "https://"}, "avatar_url"),
    ]
    for body, field in bad:
        refused = client.patch("/api/app/me", json=body, headers=auth)
        assert refused.status_code == 422, (body, refused.text)
        assert field in refused.json()["error"]["fields"], (body, refused.text)
    assert client.get("/api/app/me", headers=auth).json()["nickname"] == "小 林"

    # and without a token there is no profile to change
    assert client.patch("/api/app/me", json={"nickname": "x"}).status_code == 401


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


def test_an_uploaded_avatar_is_kept_once_by_content_served_as_an_image_and_set(
    client: TestClient, ctx: Context
) -> None:
    # given a logged-in shopper
    auth = bearer(login(client, "wx-avatar"))

    # when the mini-program uploads the chosen avatar (wx.uploadFile, field "file")
    first = client.post(
        "/api/app/me/avatar", files={"file": ("tmp.png", PNG, "image/png")}, headers=auth
    )

    # then it becomes the shopper's avatar, at a URL named by its content
    assert first.status_code == 200, first.text
    url = first.json()["avatar_url"]
    assert url == f"/media/avatars/{hashlib.sha256(PNG).hexdigest()}.png"
    assert client.get("/api/app/me", headers=auth).json()["avatar_url"] == url
    # and it is served as a PNG that browsers cannot read as anything else, cached for good
    image = client.get(url)
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in image.headers["cache-control"]
    # and the same image uploaded again (under another name and type) is the same file
    again = client.post(
        "/api/app/me/avatar", files={"file": ("x.jpg", PNG, "image/jpeg")}, headers=auth
    )
    assert again.json()["avatar_url"] == url
    assert len(list((ctx.settings.media_dir / "avatars").iterdir())) == 1

    # when the upload is not an image, or too large, it is refused and nothing changes
    html = client.post(
        "/api/app/me/avatar",
        files={"file": ("a.png", b"<html><script>alert(1)</script>", "image/png")},
        headers=auth,
    )
    assert html.status_code == 415, html.text
    assert html.json()["error"]["code"] == "unsupported_image"
    big = client.post(
        "/api/app/me/avatar",
        files={"file": ("big.png", PNG + bytes(2 * 1024 * 1024), "image/png")},
        headers=auth,
    )
    assert big.status_code == 413, big.text
    assert client.get("/api/app/me", headers=auth).json()["avatar_url"] == url
    assert len(list((ctx.settings.media_dir / "avatars").iterdir())) == 1
    # and an uploaded path may also be set through PATCH, any other local path may not
    assert client.patch("/api/app/me", json={"avatar_url": url}, headers=auth).status_code == 200
    for bad in ("/media/avatars/../../siyu.db", "/media/avatars/abc.png", "/etc/passwd"):
        assert (
            client.patch("/api/app/me", json={"avatar_url": bad}, headers=auth).status_code == 422
        )

    # and without a token nothing is uploaded; unknown or odd names are not found
    anonymous = client.post("/api/app/me/avatar", files={"file": ("a.png", PNG, "image/png")})
    assert anonymous.status_code == 401
    for name in ("0" * 64 + ".png", "..%2Fsiyu.db", url.rsplit("/", 1)[1].upper()):
        assert client.get(f"/media/avatars/{name}").status_code == 404, name


def test_a_bound_phone_is_stored_encrypted_found_by_keyed_hash_and_shown_masked(
    client: TestClient, ctx: Context
) -> None:
    # given a logged-in shopper
    alice = bearer(login(client, "wx-alice"))

    # when they bind their phone (in the sandbox the code is the number)
    bound = client.post("/api/app/me/phone", json={"code": "13800138000"}, headers=alice)

    # then the answer and the profile show it masked
    assert bound.status_code == 200, bound.text
    assert bound.json() == {"phone_masked": "138****8000"}
    me = client.get("/api/app/me", headers=alice)
    assert (me.json()["phone_bound"], me.json()["phone_masked"]) == (True, "138****8000")
    assert "13800138000" not in me.text

    # and the database holds ciphertext and a keyed hash, never the number
    with ctx.db.transaction() as session:
        shopper = session.get(Shopper, me.json()["id"])
        assert shopper is not None and shopper.phone_encrypted and shopper.phone_hash
        assert "13800138000" not in shopper.phone_encrypted
        assert "13800138000" not in shopper.phone_hash
        assert ctx.cipher.decrypt(shopper.phone_encrypted) == "13800138000"
        found = find_shopper_by_phone(session, ctx.cipher, "13800138000")
        assert found is not None and found.id == shopper.id
        assert find_shopper_by_phone(session, ctx.cipher, "13800138001") is None
    assert events(ctx, "shopper.phone_bound") == [{"shopper_id": me.json()["id"]}]


def test_a_phone_bound_to_one_shopper_cannot_be_bound_to_another(
    client: TestClient, ctx: Context
) -> None:
    # given alice's phone
    alice = bearer(login(client, "wx-alice"))
    bob = bearer(login(client, "wx-bob"))
    assert client.post("/api/app/me/phone", json={"code": "13800138000"}, headers=alice).is_success

    # when bob binds the same number, and alice binds it again
    taken = client.post("/api/app/me/phone", json={"code": "13800138000"}, headers=bob)
    again = client.post("/api/app/me/phone", json={"code": "13800138000"}, headers=alice)

    # then bob is refused and keeps no phone; alice's rebinding is harmless
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "phone_in_use")
    assert again.status_code == 200
    bob_me = client.get("/api/app/me", headers=bob).json()
    assert (bob_me["phone_bound"], bob_me["phone_masked"]) == (False, None)
    with ctx.db.transaction() as session:
        found = find_shopper_by_phone(session, ctx.cipher, "13800138000")
        assert found is not None and found.id != bob_me["id"]


def test_a_phone_code_that_is_not_a_mobile_number_is_refused_in_the_sandbox(
    client: TestClient,
) -> None:
    # given a logged-in shopper
    alice = bearer(login(client, "wx-alice"))

    # when the sandbox phone code is not an 11-digit mobile number
    response = client.post("/api/app/me/phone", json={"code": "12345"}, headers=alice)

    # then it is refused as an invalid code and no phone is bound
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_code")
    assert client.get("/api/app/me", headers=alice).json()["phone_bound"] is False


# ---------------------------------------------------------------- live mode (fake WeChat)


@pytest.fixture
def live_ctx(
    database_url: str, tmp_path: Path, clock: FrozenClock, fake_wechat_api: FakeWeChatApi
) -> Iterator[Context]:
    settings = make_settings(
        database_url,
        tmp_path,
        wechat_mode="live",
        wechat_api_base_url=fake_wechat_api.base_url,
        wechat_appid=fake_wechat_api.appid,
        wechat_secret=fake_wechat_api.secret,
    )
    context = build_context(settings, clock=clock)
    yield context
    context.close()


@pytest.fixture
def live_client(live_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=live_ctx, run_worker=False)) as test_client:
        yield test_client


def test_live_login_stores_openid_and_unionid_and_never_reveals_the_session_key(
    live_client: TestClient, live_ctx: Context, fake_wechat_api: FakeWeChatApi
) -> None:
    # given WeChat knows two login codes for one person
    fake_wechat_api.add_login_code("js-code-1", "o-openid-0001", "u-unionid-0001")
    fake_wechat_api.add_login_code("js-code-2", "o-openid-0001", "u-unionid-0001")

    # when the person logs in twice
    first = login(live_client, "js-code-1", anonymous_id="device-live-0001")
    second = login(live_client, "js-code-2")
    me = live_client.get("/api/app/me", headers=bearer(first))

    # then one shopper holds WeChat's ids
    assert (first.json()["is_new"], second.json()["is_new"]) == (True, False)
    with live_ctx.db.transaction() as session:
        shopper = session.get(Shopper, first.json()["shopper"]["id"])
        assert shopper is not None
        assert (shopper.openid, shopper.unionid) == ("o-openid-0001", "u-unionid-0001")
        payloads = json.dumps(list(session.scalars(select(OutboxEvent.payload))))

    # and the session key WeChat issued appears in no answer and no event
    session_key = fake_wechat_api.session_keys["o-openid-0001"]
    assert session_key not in first.text + second.text + me.text + payloads
    assert "session_key" not in first.text + second.text + me.text
    assert "o-openid-0001" not in first.text + me.text


def test_live_phone_binding_reads_the_number_from_wechat(
    live_client: TestClient, live_ctx: Context, fake_wechat_api: FakeWeChatApi
) -> None:
    # given a logged-in shopper and a phone code WeChat will honour
    fake_wechat_api.add_login_code("js-code-1", "o-openid-0001")
    fake_wechat_api.add_phone_code("phone-code-1", "13912345678")
    alice = bearer(login(live_client, "js-code-1"))

    # when the shopper binds the phone
    bound = live_client.post("/api/app/me/phone", json={"code": "phone-code-1"}, headers=alice)

    # then it is masked in the answer and found by the keyed hash
    assert bound.json() == {"phone_masked": "139****5678"}
    with live_ctx.db.transaction() as session:
        found = find_shopper_by_phone(session, live_ctx.cipher, "13912345678")
        assert found is not None and found.openid == "o-openid-0001"


def _fail_with(errcode: int) -> Callable[[FakeWeChatApi], None]:
    return lambda fake: fake.fail_next(errcode)


@pytest.mark.parametrize(
    ("make_fail", "status", "code"),
    [
        (_fail_with(40029), 422, "invalid_code"),
        (_fail_with(40163), 422, "code_used"),
        (_fail_with(45011), 429, "wechat_rate_limited"),
        (_fail_with(40226), 403, "risky_user"),
        (_fail_with(-1), 503, "wechat_busy"),
        (lambda fake: fake.fail_next_status(502), 503, "wechat_busy"),
    ],
    ids=["40029", "40163", "45011", "40226", "busy", "http-502"],
)
def test_wechat_login_errors_map_to_clear_answers_and_register_nobody(
    live_client: TestClient,
    live_ctx: Context,
    fake_wechat_api: FakeWeChatApi,
    make_fail: Callable[[FakeWeChatApi], None],
    status: int,
    code: str,
) -> None:
    # given a valid login code, but WeChat answers with an error
    fake_wechat_api.add_login_code("js-code-1", "o-openid-0001")
    make_fail(fake_wechat_api)

    # when the shopper logs in
    response = login(live_client, "js-code-1")

    # then the answer says what happened, and nobody was registered
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert response.json()["error"]["code"] == code
    assert shopper_count(live_ctx) == 0


def test_a_reused_or_unknown_live_code_is_refused(
    live_client: TestClient, fake_wechat_api: FakeWeChatApi
) -> None:
    # given a code that has been used once
    fake_wechat_api.add_login_code("js-code-1", "o-openid-0001")
    assert login(live_client, "js-code-1").status_code == 200

    # when it is used again, and a code WeChat never issued is tried
    reused = login(live_client, "js-code-1")
    unknown = login(live_client, "js-code-made-up")

    # then WeChat's own answers come back as code_used and invalid_code
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "code_used")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "invalid_code")


def test_the_login_nickname_is_kept_for_a_new_shopper_and_never_overwrites_one(
    client: TestClient,
) -> None:
    # given a first login that brings the nickname the shopper typed (with stray spaces)
    first = login(client, "zhang-xiaoming", nickname="  张小明 ")
    assert first.status_code == 200, first.text
    # then it is their nickname, tidied by the same rule as the profile's
    assert first.json()["shopper"]["nickname"] == "张小明"
    # and a later login with another nickname keeps the one they have
    again = login(client, "zhang-xiaoming", nickname="别的名字")
    assert again.json()["shopper"]["nickname"] == "张小明"
    # and a login without one changes nothing either
    assert login(client, "zhang-xiaoming").json()["shopper"]["nickname"] == "张小明"


def test_a_shopper_without_a_nickname_gets_the_one_given_at_login(client: TestClient) -> None:
    assert login(client, "nameless").json()["shopper"]["nickname"] == ""
    assert login(client, "nameless", nickname="小林").json()["shopper"]["nickname"] == "小林"


@pytest.mark.parametrize("nickname", ["   ", "x" * 21, "a\u0007b", "ab\u200b", "x" * 65])
def test_a_bad_login_nickname_is_a_clear_422(client: TestClient, nickname: str) -> None:
    response = login(client, "bad-name", nickname=nickname)
    assert response.status_code == 422, response.text
    assert "nickname" in response.text

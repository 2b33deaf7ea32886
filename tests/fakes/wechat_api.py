"""A fake of the WeChat mini-program server API (api.weixin.qq.com).

A real HTTP server on 127.0.0.1 (port 0) serving ``/sns/jscode2session``,
``/cgi-bin/stable_token`` and ``/wxa/business/getuserphonenumber`` with the
rules of specs/wechat.md section 1.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from base64 import b64encode
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_APPID = "wxtestappid0000001"
DEFAULT_SECRET = "fake-app-secret-0123456789abcdef"


@dataclass
class _LoginCode:
    openid: str
    unionid: str | None
    used: bool = False


@dataclass
class _PhoneCode:
    phone: str
    country_code: str | int
    watermark_appid: str | None
    used: bool = False


class FakeWeChatApi:
    def __init__(self, *, appid: str = DEFAULT_APPID, secret: str = DEFAULT_SECRET) -> None:
        self.appid = appid
        self.secret = secret
        self.token_expires_in = 7200
        self.token_calls = 0
        self.session_keys: dict[str, str] = {}  # openid -> last session_key issued
        self.requests: list[tuple[str, str]] = []  # (method, path without query)
        self._lock = threading.Lock()
        self._login_codes: dict[str, _LoginCode] = {}
        self._phone_codes: dict[str, _PhoneCode] = {}
        self._current_token: str | None = None
        self._valid_tokens: set[str] = set()
        self._failures: deque[tuple[int, str]] = deque()
        self._status_failures: deque[int] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeWeChatApi is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test control ----------------------------------------------------------

    def add_login_code(self, code: str, openid: str, unionid: str | None = None) -> None:
        with self._lock:
            self._login_codes[code] = _LoginCode(openid=openid, unionid=unionid)

    def add_phone_code(
        self,
        code: str,
        phone: str = "13800138000",
        country_code: str | int = "86",
        *,
        watermark_appid: str | None = None,
    ) -> None:
        """Register a single-use phone code. ``country_code`` is sent as given
        (WeChat's example sends the number 86); ``watermark_appid`` overrides
        the appid put into the watermark."""
        with self._lock:
            self._phone_codes[code] = _PhoneCode(
                phone=phone, country_code=country_code, watermark_appid=watermark_appid
            )

    def fail_next(self, errcode: int, errmsg: str = "injected failure") -> None:
        """The next business call (jscode2session or getuserphonenumber)
        answers ``{"errcode", "errmsg"}``; calls queue up."""
        with self._lock:
            self._failures.append((errcode, errmsg))

    def fail_next_status(self, status: int) -> None:
        """The next request of any kind answers this HTTP status with an HTML body."""
        with self._lock:
            self._status_failures.append(status)

    def expire_tokens(self) -> None:
        """Invalidate every issued access token; business calls then get 40001."""
        with self._lock:
            self._valid_tokens.clear()
            self._current_token = None

    @property
    def current_token(self) -> str | None:
        return self._current_token

    # -- request handling ------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((method, parts.path))
            if self._status_failures:
                return self._status_failures.popleft(), None
            if parts.path == "/sns/jscode2session" and method == "GET":
                return 200, self._jscode2session(query)
            if parts.path == "/cgi-bin/stable_token":
                return 200, self._stable_token(method, headers, body)
            if parts.path == "/wxa/business/getuserphonenumber" and method == "POST":
                return 200, self._phone_number(query, body)
            return 200, {"errcode": 40066, "errmsg": "invalid url"}

    def _injected_failure(self) -> dict[str, Any] | None:
        if self._failures:
            errcode, errmsg = self._failures.popleft()
            return {"errcode": errcode, "errmsg": errmsg}
        return None

    def _jscode2session(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("appid") != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if query.get("grant_type") != "authorization_code":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        js_code = query.get("js_code")
        if not js_code:
            return {"errcode": 41008, "errmsg": "missing code"}
        failure = self._injected_failure()
        if failure is not None:
            return failure
        login = self._login_codes.get(js_code)
        if login is None:
            return {"errcode": 40029, "errmsg": "invalid code"}
        if login.used:
            return {"errcode": 40163, "errmsg": "code been used"}
        login.used = True
        session_key = b64encode(secrets.token_bytes(16)).decode("ascii")
        self.session_keys[login.openid] = session_key
        answer: dict[str, Any] = {"openid": login.openid, "session_key": session_key}
        if login.unionid is not None:
            answer["unionid"] = login.unionid
        return answer

    def _stable_token(self, method: str, headers: Any, body: bytes) -> dict[str, Any]:
        self.token_calls += 1
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        if method != "POST" or content_type != "application/json":
            return {"errcode": 47001, "errmsg": "data format error (POST JSON only)"}
        try:
            request = json.loads(body)
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
        if not isinstance(request, dict) or request.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if request.get("appid") != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if request.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        force = request.get("force_refresh", False) is True
        if force or self._current_token is None:
            if force:
                self._valid_tokens.clear()
            self._current_token = "ACCESS_TOKEN_" + secrets.token_hex(24)
            self._valid_tokens.add(self._current_token)
        return {"access_token": self._current_token, "expires_in": self.token_expires_in}

    def _phone_number(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        token = query.get("access_token")
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if token not in self._valid_tokens:
            return {
                "errcode": 40001,
                "errmsg": "invalid credential, access_token is invalid or not latest",
            }
        failure = self._injected_failure()
        if failure is not None:
            return failure
        try:
            request = json.loads(body)
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
        code = request.get("code") if isinstance(request, dict) else None
        phone = self._phone_codes.get(code) if isinstance(code, str) else None
        if phone is None or phone.used:
            return {"errcode": 40029, "errmsg": "invalid code"}
        phone.used = True
        country = str(phone.country_code)
        full = phone.phone if country == "86" else f"+{country}{phone.phone}"
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": full,
                "purePhoneNumber": phone.phone,
                "countryCode": phone.country_code,
                "watermark": {
                    "timestamp": int(time.time()),
                    "appid": phone.watermark_appid or self.appid,
                },
            },
        }


def _make_handler(fake: FakeWeChatApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = fake._handle(method, self.path, self.headers, body)
            if payload is None:
                data = b"<html><body>server error</body></html>"
                content_type = "text/html"
            else:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                content_type = "application/json; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler

"""Request bodies over the app's limit are refused with 413 in the error shape, whether
the size is declared up front or the body grows while it streams in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from siyu.app import MAX_BODY_BYTES
from siyu.bootstrap import Context

TOO_MUCH = MAX_BODY_BYTES + 1


def chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """A body sent without Content-Length (chunked)."""
    while total > 0:
        yield b" " * min(size, total)
        total -= size


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/track"), ("POST", "/api/app/login"), ("POST", "/api/admin/products")],
)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "streamed"])
def test_a_body_over_the_limit_is_refused_in_the_error_shape(
    client: TestClient, ctx: Context, method: str, path: str, declared: bool
) -> None:
    # given a body one byte over the limit
    headers = {"Content-Type": "application/json"}
    body: bytes | Iterator[bytes] = b" " * TOO_MUCH if declared else chunks(TOO_MUCH)

    # when it is sent
    response = client.request(method, path, content=body, headers=headers)

    # then it is refused with 413 in the API's error shape
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_a_body_at_the_limit_reaches_the_endpoint(client: TestClient, ctx: Context) -> None:
    # a JSON body of exactly the limit (mostly spaces) is read and judged on its content
    body = b'{"code": "wx-limit"}'
    response = client.post(
        "/api/app/login",
        content=body + b" " * (MAX_BODY_BYTES - len(body)),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text

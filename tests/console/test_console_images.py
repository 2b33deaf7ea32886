"""Product images uploaded through the console: checked by content, size and pixel
count, shrunk to 1200 px on the longest side, kept by their content and served by the
store; a bad file is refused next to the field and nothing is kept."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image

from siyu.bootstrap import Context
from siyu.catalog.media import UPLOAD_MAX_BYTES
from siyu.identity.rules import Role
from tests.console.conftest import new_operator, open_shop, sign_in


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def new_product_form(csrf: str, category_id: int) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "title": "上传图片的杯子",
        "category_id": str(category_id),
        "role": "profit",
        "skus-0-spec": "白",
        "skus-0-price": "10",
    }


def stored_images(ctx: Context) -> list[str]:
    folder = ctx.settings.media_dir / "products"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_an_uploaded_png_is_resized_kept_and_served(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given an owner on the new-product form
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.owner))
    page = client.get("/console/products/new")
    assert 'enctype="multipart/form-data"' in page.text and 'name="image_files"' in page.text

    # when a 2400×1600 PNG is uploaded with the product
    created = client.post(
        "/console/products/new",
        data=new_product_form(csrf, shop.product["category_id"]),
        files={"image_files": ("cup.png", png(2400, 1600), "image/png")},
        follow_redirects=False,
    )

    # then the product lists a /media/products/ URL that serves the image at 1200×800
    assert created.status_code == 303, created.text
    product_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    product = client.get(f"/api/admin/products/{product_id}", headers=api_admin).json()
    [url] = product["image_urls"]
    assert url.startswith("/media/products/") and url.endswith(".png")
    served = client.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (1200, 800)

    # when another image is uploaded on the product page
    edit = client.post(
        f"/console/products/{product_id}",
        data={
            "csrf_token": csrf,
            "title": product["title"],
            "category_id": str(product["category_id"]),
            "role": "profit",
            "image_urls": url,
        },
        files={"image_files": ("small.png", png(300, 500), "image/png")},
        follow_redirects=False,
    )

    # then it is added after the first, at its own size
    assert edit.status_code == 303, edit.text
    urls = client.get(f"/api/admin/products/{product_id}", headers=api_admin).json()["image_urls"]
    assert urls[0] == url and len(urls) == 2
    assert Image.open(io.BytesIO(client.get(urls[1]).content)).size == (300, 500)


def test_a_text_file_an_oversized_file_and_a_broken_image_are_refused(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given an owner and a product
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.owner))
    before = stored_images(ctx)
    form = new_product_form(csrf, shop.product["category_id"])
    big = png(10, 10) + b"\0" * UPLOAD_MAX_BYTES
    broken = png(400, 400)[:200]

    # when each bad file is uploaded
    text = client.post(
        "/console/products/new",
        data=form,
        files={"image_files": ("notes.png", b"just some words\n", "image/png")},
    )
    oversized = client.post(
        "/console/products/new", data=form, files={"image_files": ("big.png", big, "image/png")}
    )
    corrupt = client.post(
        f"/console/products/{shop.product['id']}",
        data=form,
        files={"image_files": ("broken.png", broken, "image/png")},
    )

    # then each is refused next to the field with words, and nothing is kept
    assert text.status_code == 415
    assert 'id="err-image_files"' in text.text and "只能上传 PNG、JPEG 或 WebP" in text.text
    assert oversized.status_code == 413
    assert 'id="err-image_files"' in oversized.text and "超过 5 MB" in oversized.text
    assert corrupt.status_code == 422
    assert 'id="err-image_files"' in corrupt.text and "可能已损坏" in corrupt.text
    assert stored_images(ctx) == before
    listed = client.get("/api/admin/products", headers=api_admin).json()
    assert all(p["title"] != "上传图片的杯子" for p in listed["items"])

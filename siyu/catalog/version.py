"""The catalog version (``siyu.versions.CATALOG``): moved on whenever what a shopper
sees of the catalog changes — a product, SKU or category created, edited, priced, put
on or off sale, deleted — in the writing transaction itself, so readers in any process
can cache the catalog and know at once when not to.

Stock and sales counts move on every order and are deliberately *not* content:
``stock.py`` changes them with guarded statements that leave the version alone; pages
that show stock read it fresh, and sales counts are refreshed by age (see
``siyu.web.catalog_cache``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from siyu import versions
from siyu.catalog.models import Category, Product, Sku

CONTENT_MODELS = (Product, Sku, Category)
# Columns that change with orders, not with the catalog's content.
MOVING_COLUMNS = frozenset({"stock", "sales_count"})


def track_versions(factory: sessionmaker[Session]) -> None:
    versions.watch(factory, versions.CATALOG, CONTENT_MODELS, MOVING_COLUMNS)

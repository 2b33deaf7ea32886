"""Shoppers (WeChat login, phone binding, entry attribution) and operators (roles, audit)."""

"""Coupon templates and the coupons shoppers own."""

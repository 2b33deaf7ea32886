"""Fake WeChat servers (real HTTP on 127.0.0.1) and their pytest fixtures."""

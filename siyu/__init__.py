"""Siyu (私域): a self-hosted growth engine for WeChat mini-program stores."""

__version__ = "0.1.0"

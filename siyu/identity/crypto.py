"""Personal data at rest: phone numbers are AES-GCM encrypted with a key derived from
``SIYU_DATA_KEY`` and found again through a keyed hash (HMAC), never stored in clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class PersonalDataCipher:
    def __init__(self, data_key: str) -> None:
        self._enc_key = hashlib.sha256(b"siyu/pii/encrypt/" + data_key.encode()).digest()
        self._hash_key = hashlib.sha256(b"siyu/pii/lookup/" + data_key.encode()).digest()

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._enc_key).encrypt(nonce, plaintext.encode(), b"siyu-pii-v1")
        return "v1:" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        version, payload = token.split(":", 1)
        if version != "v1":
            raise ValueError(f"unknown ciphertext version {version!r}")
        raw = base64.b64decode(payload)
        return AESGCM(self._enc_key).decrypt(raw[:12], raw[12:], b"siyu-pii-v1").decode()

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

"""WeChat / WeCom message crypto (PROTOCOLS.md §2.2, §2.6): SHA-1 request signatures and the AES-256-CBC
"safe mode" envelope. Pure functions, so they can be checked against the published vectors directly.

Envelope plaintext: random(16) ‖ msg_len (uint32, network order, UTF-8 bytes) ‖ msg ‖ receive-id, PKCS#7
padded to 32 bytes; key = base64(EncodingAESKey + "="), IV = key[:16]. The ciphertext carries no MAC, so
callers must check the `msg_signature` over `Encrypt` *before* decrypting (that also keeps padding errors
from becoming an oracle)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32  # PKCS#7 block of the WeChat scheme (not the 16-byte AES block)
_ENCODING_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


class WeChatCryptoError(ValueError):
    """A request failed authentication. `kind` labels the metric; the message never holds request data."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Decrypted:
    random: bytes
    msg: bytes
    receive_id: bytes


def signature(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """SHA-1 (lowercase hex) of the parts sorted as strings and joined; `extra` is `Encrypt` or `echostr`."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *extra])).encode("utf-8")).hexdigest()


def check_signature(received: str, token: str, timestamp: str, nonce: str, *extra: str) -> None:
    """Raise unless `received` equals the expected signature (constant-time, so it leaks no prefix)."""
    expected = signature(token, timestamp, nonce, *extra)
    if not hmac.compare_digest(received.encode("utf-8"), expected.encode("ascii")):
        raise WeChatCryptoError("signature", "signature mismatch")


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey; ValueError (without the key) if malformed."""
    if not _ENCODING_AES_KEY.fullmatch(encoding_aes_key):
        raise ValueError("an EncodingAESKey is 43 letters and digits")
    return base64.b64decode(encoding_aes_key + "=")


def _cipher(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(msg: bytes | str, key: bytes, receive_id: str, random16: bytes | None = None) -> str:
    """Base64 `Encrypt` value for `msg`; `random16` is fresh randomness unless a test pins it."""
    data = msg.encode("utf-8") if isinstance(msg, str) else msg
    nonce = os.urandom(16) if random16 is None else random16
    if len(nonce) != 16:
        raise ValueError("random16 must be 16 bytes")
    plain = nonce + struct.pack(">I", len(data)) + data + receive_id.encode("utf-8")
    pad = BLOCK_SIZE - len(plain) % BLOCK_SIZE  # 1..32: an aligned buffer gets a full block of 0x20
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode("ascii")


def decrypt(encrypted: str, key: bytes) -> Decrypted:
    """Strictly decode, decrypt and unpad an `Encrypt` value; any malformation raises WeChatCryptoError."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise WeChatCryptoError("decrypt", "Encrypt is not base64") from None
    if not raw or len(raw) % BLOCK_SIZE:
        raise WeChatCryptoError("decrypt", "Encrypt has a wrong length")
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK_SIZE or plain[-pad:] != bytes([pad]) * pad:
        raise WeChatCryptoError("decrypt", "bad padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise WeChatCryptoError("decrypt", "envelope too short")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise WeChatCryptoError("decrypt", "message length out of range")
    return Decrypted(plain[:16], plain[20 : 20 + length], plain[20 + length :])


def decrypt_message(encrypted: str, key: bytes, receive_id: str) -> bytes:
    """Decrypt and require the trailing receive-id (appid / corpid) to be ours, so another account's
    traffic encrypted under a leaked or shared key is refused."""
    opened = decrypt(encrypted, key)
    if not hmac.compare_digest(opened.receive_id, receive_id.encode("utf-8")):
        raise WeChatCryptoError("receive_id", "message is for another app")
    return opened.msg

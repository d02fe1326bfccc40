"""WeChat / WeCom crypto and XML against the verified vectors in shared/connectors/test_vectors.json."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from agent.channels import wechat_crypto
from agent.channels.wechat_crypto import (
    WeChatCryptoError,
    aes_key,
    check_signature,
    decrypt,
    decrypt_message,
    encrypt,
    signature,
)
from agent.channels.wechat_xml import (
    WeChatXmlError,
    cdata,
    parse_fields,
    parse_message,
    render_encrypted_reply,
    render_text_reply,
)
from tests.conftest import SHARED

VECTORS = json.loads((SHARED / "connectors" / "test_vectors.json").read_text(encoding="utf-8"))
BY_ID = {v["id"]: v for group in ("wechat_get", "wechat_aes", "wecom") for v in VECTORS[group]}
A1, A2, A3 = BY_ID["A1-inbound-text-safe-mode"], BY_ID["A2-encrypted-passive-reply"], BY_ID["A3-block-aligned-padding"]


@pytest.mark.parametrize("vector", VECTORS["wechat_get"], ids=lambda v: v["id"])
def test_url_signature_vectors(vector):
    assert signature(vector["token"], vector["timestamp"], vector["nonce"]) == vector["expected_signature"]
    check_signature(vector["expected_signature"], vector["token"], vector["timestamp"], vector["nonce"])


def test_signature_sorts_as_strings_not_numbers():
    c5 = BY_ID["C5-computed-verify-url"]  # "1700000000" < "987654321" only as strings
    assert signature(c5["token"], c5["timestamp"], c5["nonce"], c5["echostr"]) == c5["expected_msg_signature"]


@pytest.mark.parametrize("received", ["0" * 40, "", "F21891DE399B4E33A1A93C9A7B8A8FFFB5A443FF", "签名"])
def test_wrong_signature_raises(received):
    with pytest.raises(WeChatCryptoError) as error:
        check_signature(received, "test", "1410685589", "test")
    assert error.value.kind == "signature"


def test_signature_compare_is_constant_time(monkeypatch):
    calls = []
    real = wechat_crypto.hmac.compare_digest
    monkeypatch.setattr(wechat_crypto.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    check_signature("f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "test", "1410685589", "test")
    decrypt_message(A1["encrypt"], aes_key(A1["encoding_aes_key"]), A1["appid"])
    assert len(calls) == 2


def test_aes_key_derivation():
    assert aes_key(A1["encoding_aes_key"]).hex() == A1["aes_key_hex"]
    for bad in ("", "short", A1["encoding_aes_key"] + "A", A1["encoding_aes_key"][:-1] + "+"):
        with pytest.raises(ValueError):
            aes_key(bad)


@pytest.mark.parametrize("vector", VECTORS["wechat_aes"], ids=lambda v: v["id"])
def test_aes_vectors_decrypt(vector):
    key = aes_key(vector["encoding_aes_key"])
    opened = decrypt(vector["encrypt"], key)
    expected = vector.get("decrypted_msg") or vector.get("plaintext_msg") or vector["plaintext_reply"]
    assert opened.msg.decode("utf-8") == expected
    assert opened.receive_id.decode() == vector["appid"]
    if "random16_ascii" in vector:
        assert opened.random == vector["random16_ascii"].encode()
    if "expected_msg_signature" in vector:
        assert (
            signature(vector["token"], vector["timestamp"], vector["nonce"], vector["encrypt"])
            == vector["expected_msg_signature"]
        )


@pytest.mark.parametrize("vector", [A1, A2, A3], ids=lambda v: v["id"])
def test_aes_vectors_encrypt_exactly(vector):
    msg = vector.get("plaintext_msg") or vector["plaintext_reply"]
    key = aes_key(vector["encoding_aes_key"])
    assert encrypt(msg, key, vector["appid"], vector["random16_ascii"].encode()) == vector["encrypt"]


def test_length_field_counts_utf8_bytes():
    raw = (
        Cipher(algorithms.AES(aes_key(A1["encoding_aes_key"])), modes.CBC(bytes.fromhex(A1["iv_hex"])))
        .decryptor()
        .update(base64.b64decode(A1["encrypt"]))
    )
    assert raw[16:20].hex() == A1["msg_len_field_hex"]
    assert raw[-1] == A1["pkcs7_pad_bytes"] and len(raw) == A1["unpadded_len"] + A1["pkcs7_pad_bytes"]


def test_full_block_of_padding():
    raw = base64.b64decode(A3["encrypt"])
    assert len(raw) == A3["unpadded_len"] + 32
    assert decrypt(A3["encrypt"], aes_key(A3["encoding_aes_key"])).msg == A3["plaintext_msg"].encode()


@pytest.mark.parametrize("vector", VECTORS["wecom"], ids=lambda v: v["id"])
def test_wecom_vectors(vector):
    key = aes_key(vector["encoding_aes_key"])
    encrypted = vector.get("encrypt") or vector["echostr"]
    expected_signature = vector["expected_msg_signature"]
    assert signature(vector["token"], vector["timestamp"], vector["nonce"], encrypted) == expected_signature
    msg = decrypt_message(encrypted, key, vector["receive_id"]).decode("utf-8")
    if "expected_response_body" in vector:
        assert msg == vector["expected_response_body"]
    elif "decrypted_msg" in vector:
        assert msg == vector["decrypted_msg"]
    else:
        assert msg == vector["plaintext_reply"]
        assert encrypt(msg, key, vector["receive_id"], vector["random16_ascii"].encode()) == vector["encrypt"]


def test_wrong_receive_id_is_refused():
    with pytest.raises(WeChatCryptoError) as error:
        decrypt_message(A1["encrypt"], aes_key(A1["encoding_aes_key"]), "wx0000000000000000")
    assert error.value.kind == "receive_id"
    with pytest.raises(WeChatCryptoError):  # a prefix of the real appid is not enough
        decrypt_message(A1["encrypt"], aes_key(A1["encoding_aes_key"]), A1["appid"][:-1])


def _raw_encrypt(plain: bytes, key: bytes) -> str:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@pytest.mark.parametrize(
    "plain",
    [
        b"r" * 16 + struct.pack(">I", 3) + b"abc" + b"wx" + b"\x00" * 7,  # pad byte 0
        b"r" * 16 + struct.pack(">I", 3) + b"abc" + b"wx" + b"\x21" * 7,  # pad byte 33 > block
        b"r" * 16 + struct.pack(">I", 3) + b"abc" + b"wx" + b"\x01\x02\x03\x04\x05\x06\x07",  # inconsistent pad
        b"r" * 16 + struct.pack(">I", 999) + b"abc" + b"wx" + b"\x07" * 7,  # length beyond the buffer
        b"r" * 12 + b"\x14" * 20,  # shorter than random + length
    ],
)
def test_malformed_plaintext_is_refused(plain):
    key = aes_key(A1["encoding_aes_key"])
    with pytest.raises(WeChatCryptoError) as error:
        decrypt(_raw_encrypt(plain, key), key)
    assert error.value.kind == "decrypt"


@pytest.mark.parametrize(
    "encrypted",
    [
        "",
        "not base64!!",
        A1["encrypt"][:-4],
        base64.b64encode(b"x" * 48).decode(),
        A1["encrypt"].replace("=", "") + "\n",
    ],
)
def test_bad_ciphertext_is_refused(encrypted):
    with pytest.raises(WeChatCryptoError):
        decrypt(encrypted, aes_key(A1["encoding_aes_key"]))


def test_tampered_ciphertext_is_refused():
    raw = bytearray(base64.b64decode(A1["encrypt"]))
    raw[-1] ^= 0x01  # garbles the last block, so padding and receive-id cannot both survive
    with pytest.raises(WeChatCryptoError):
        decrypt_message(base64.b64encode(bytes(raw)).decode(), aes_key(A1["encoding_aes_key"]), A1["appid"])


def test_fresh_randomness_by_default():
    key = aes_key(A1["encoding_aes_key"])
    first, second = encrypt("hi", key, A1["appid"]), encrypt("hi", key, A1["appid"])
    assert first != second
    assert decrypt_message(first, key, A1["appid"]) == b"hi"


# --- XML ---------------------------------------------------------------------------------------------------------


def test_parse_text_message():
    message = parse_message(A1["plaintext_msg"].encode())
    assert (message.to_user, message.from_user, message.create_time) == (
        "gh_0123456789ab",
        "oUSER_openid_000000000000001",
        1700000000,
    )
    assert (message.msg_type, message.content, message.msg_id) == ("text", "你好，我要退货", "24300000000000001")


def test_parse_without_cdata_and_with_agent_id():
    message = parse_message(BY_ID["C4-tencent-wecom-sample-decrypt"]["decrypted_msg"])
    assert (message.from_user, message.content, message.agent_id) == ("ChenJiaShun", "你好", "1000002")


def test_parse_event_and_voice():
    event = parse_message(
        "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>subscribe</Event><EventKey><![CDATA[qrscene_1]]></EventKey></xml>"
    )
    assert (event.event, event.event_key, event.msg_id) == ("subscribe", "qrscene_1", "")
    voice = parse_message("<xml><MsgType>voice</MsgType><Recognition><![CDATA[查订单]]></Recognition></xml>")
    assert voice.recognition == "查订单"


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><Content>&lol3;</Content></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><MsgType>text</MsgType><Content>&xxe;</Content></xml>"
)
DOCTYPE_ONLY = "<!DOCTYPE xml><xml><MsgType>text</MsgType></xml>"


@pytest.mark.parametrize(
    "xml",
    [
        BILLION_LAUGHS,
        XXE,
        DOCTYPE_ONLY,
        "<xml><MsgType>text</MsgType>",  # unclosed
        "<root><MsgType>text</MsgType></root>",  # wrong root
        "<xml><FromUserName>a</FromUserName><FromUserName>b</FromUserName></xml>",  # duplicate field
        "<xml>" + "<a/>" * 300 + "</xml>",  # too many elements
        "<xml><CreateTime>soon</CreateTime></xml>",
        "<xml><CreateTime>１２</CreateTime></xml>",  # non-ASCII digits
        "",
    ],
)
def test_hostile_or_malformed_xml_is_refused(xml):
    with pytest.raises(WeChatXmlError):
        parse_message(xml)


def test_size_cap():
    body = "<xml><Content>" + "x" * 100 + "</Content></xml>"
    assert parse_fields(body, max_bytes=200)["Content"] == "x" * 100
    with pytest.raises(WeChatXmlError):
        parse_fields(body, max_bytes=50)


def test_render_text_reply_matches_vector():
    assert (
        render_text_reply("oUSER_openid_000000000000001", "gh_0123456789ab", 1700000001, "好的，请提供订单号。")
        == A2["plaintext_reply"]
    )


def test_render_encrypted_reply_matches_vector():
    assert (
        render_encrypted_reply(A2["encrypt"], A2["expected_msg_signature"], A2["timestamp"], A2["nonce"])
        == A2["response_body"]
    )


@pytest.mark.parametrize("content", ["a]]>b", "]]><xml><Content>pwned</Content></xml>", "]]]]>>", "x]]"])
def test_cdata_cannot_be_closed_by_content(content):
    reply = render_text_reply("u", "gh", 1, content)
    fields = parse_fields(reply)
    assert fields["Content"] == content and list(fields) == [
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Content",
    ]


def test_cdata_drops_characters_xml_cannot_carry():
    assert cdata("a\x00b\x1bc\nd") == "<![CDATA[ab" + "c\nd]]>"

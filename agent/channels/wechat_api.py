"""The outbound WeChat / WeCom API: a cached access token and the send of a reply that missed the passive one.

It exists so the channel does not mix HTTP client work (token lifetime, the one retry on an expired token,
error shapes, keeping secrets out of error text) with serving callbacks. It neither counts nor logs: the
channel turns a `WeChatApiError` into its metric and log line.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

WECHAT_API = "https://api.weixin.qq.com"
WECOM_API = "https://qyapi.weixin.qq.com"
TOKEN_EXPIRED_CODES = frozenset({40001, 40014, 42001})  # refresh the access token and retry once
SEND_ATTEMPTS = 2  # the first try and one retry with a fresh token
REQUEST_TIMEOUT_S = 10.0
DEFAULT_TOKEN_LIFETIME_S = 7200.0  # what the platforms grant when `expires_in` is missing
TOKEN_REFRESH_MARGIN_S = 60.0  # fetch a new token this long before the old one expires
MAX_ERROR_CHARS = 200
_OK = 0
_HTTP_OK = 200
_REDACTED = "***"
_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}

TokenRequest = Callable[[], tuple[str, dict[str, str]]]


class WeChatApiError(Exception):
    """An outbound API call failed; `kind` labels the metric."""

    def __init__(self, kind: str, errcode: Any = None, errmsg: Any = None):
        super().__init__(kind)
        self.kind, self.errcode, self.errmsg = kind, errcode, errmsg


def json_body(payload: dict[str, Any]) -> bytes:
    """A send request's body: UTF-8 JSON with Chinese left as is (ensure_ascii=False), as WeChat expects."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class WeChatApiClient:
    """One account's API client: `token_request` says how to get an access token (path and query)."""

    def __init__(self, api_url: str, token_request: TokenRequest, secrets: tuple[str, ...]):
        self.api_url = api_url.rstrip("/")
        self._token_request = token_request
        self._secrets = secrets
        self._http: aiohttp.ClientSession | None = None
        self._access_token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def send(self, path: str, body: bytes) -> None:
        """POST a JSON body with the access token, refreshing it once when the platform says it expired."""
        await self.post(path, body)

    async def post(self, path: str, body: bytes) -> dict[str, Any]:
        """`send`, returning the platform's answer (sync_msg pages, msg_code...)."""
        for attempt in range(SEND_ATTEMPTS):
            token = await self._token()
            data = await self._call("POST", path, params={"access_token": token}, data=body, headers=_JSON_HEADERS)
            errcode = data.get("errcode", _OK)
            if errcode == _OK:
                return data
            if errcode in TOKEN_EXPIRED_CODES and attempt == 0:
                self._access_token = None
                continue
            raise WeChatApiError("api", errcode, data.get("errmsg"))
        raise WeChatApiError("api")

    def redact(self, text: Any) -> str:
        """Platform error text, shortened, with our secrets blanked in case an error echoes them."""
        text = str(text)[:MAX_ERROR_CHARS]
        for secret in (*self._secrets, self._access_token):
            if secret:
                text = text.replace(secret, _REDACTED)
        return text

    async def close(self) -> None:
        """Release the HTTP client; a later call opens a new one."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def is_open(self) -> bool:
        """Whether an HTTP client is held (one is opened by the first call)."""
        return self._http is not None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))
        return self._http

    async def _token(self) -> str:
        """The cached access token, fetched (one fetch at a time) when missing or within 60 s of expiry."""
        async with self._token_lock:
            if self._access_token and time.monotonic() < self._token_expires:
                return self._access_token
            path, params = self._token_request()
            data = await self._call("GET", path, params=params)
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise WeChatApiError("token", data.get("errcode"), data.get("errmsg"))
            self._access_token = token
            self._token_expires = time.monotonic() + max(_lifetime(data) - TOKEN_REFRESH_MARGIN_S, 0)
            return token

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call's JSON object; never puts the URL (which holds secrets) into an error."""
        async with self._session().request(method, self.api_url + path, **kwargs) as response:
            if response.status != _HTTP_OK:
                raise WeChatApiError("api_http", response.status)
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise WeChatApiError("api")
        return data


def _lifetime(data: dict[str, Any]) -> float:
    """The token's `expires_in` in seconds, the platform default when missing or not a number."""
    expires_in = data.get("expires_in", DEFAULT_TOKEN_LIFETIME_S)
    return float(expires_in) if isinstance(expires_in, (int, float)) else DEFAULT_TOKEN_LIFETIME_S

"""A lean JSON-RPC client for the node ape is connected to (or any URL), and the helpers that
read its hex-encoded answers. Used where reads must be cheap: the invariant checks after every
step of a property test, multicall by state override, the fault-recovery drill.
"""

from __future__ import annotations

from typing import Any


class RpcError(Exception):
    """A JSON-RPC error: ``code``, ``message`` and the revert ``data`` (bytes) if any."""

    def __init__(self, code: int, message: str, data: bytes = b"") -> None:
        super().__init__(f"{code} {message}")
        self.code, self.message, self.data = code, message, data


class Rpc:
    """JSON-RPC over one kept-alive HTTP session, without web3's middleware (a read costs about
    a millisecond instead of seven: the checks run after every step of a property test)."""

    def __init__(self, url: str) -> None:
        import requests

        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy lookup per request
        self._id = 0

    @classmethod
    def connected(cls) -> "Rpc":
        """A new client (its own session) for the node ape is connected to."""
        return cls(connected_url())

    def call(self, method: str, params: list[Any]) -> Any:
        self._id += 1
        reply = self.session.post(self.url, json={"jsonrpc": "2.0", "id": self._id, "method": method,
                                                  "params": params}, timeout=60).json()
        if "error" in reply:
            err = reply["error"]
            data = err.get("data") or b""
            if isinstance(data, dict):
                data = data.get("data") or b""
            if isinstance(data, str):
                data = bytes.fromhex(data[2:]) if data.startswith("0x") else b""
            raise RpcError(err.get("code", 0), err.get("message", ""), data)
        return reply["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one JSON-RPC batch request; their results in order. Raises
        :class:`RpcError` for the first that failed."""
        if not calls:
            return []
        first = self._id + 1
        self._id += len(calls)
        body = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        reply = self.session.post(self.url, json=body, timeout=600).json()
        if not isinstance(reply, list):  # the batch as a whole was refused
            err = reply.get("error", {}) if isinstance(reply, dict) else {}
            raise RpcError(err.get("code", 0), f"batch of {len(calls)}: {err.get('message', reply)}")
        replies = {r["id"]: r for r in reply}
        out = []
        for i in range(len(calls)):
            reply = replies[first + i]
            if "error" in reply:
                err = reply["error"]
                raise RpcError(err.get("code", 0), f"{calls[i][0]}: {err.get('message', '')}")
            out.append(reply["result"])
        return out

    def make_request(self, method: str, params: list[Any]) -> Any:
        return self.call(method, params)


_RPC: dict[str, Rpc] = {}


def connected_url() -> str:
    """The HTTP URL of the node ape is connected to."""
    from ape import networks

    provider = networks.provider
    return getattr(provider, "http_uri", None) or provider.uri


def default_rpc() -> Rpc:
    """The shared :class:`Rpc` of the node ape is connected to (one per URL)."""
    url = connected_url()
    if url not in _RPC:
        _RPC[url] = Rpc(url)
    return _RPC[url]


def rpc_or_default(rpc: Any) -> Any:
    """``rpc`` if given (an :class:`Rpc` or an ape provider), else :func:`default_rpc`."""
    return rpc or default_rpc()


def as_bytes(x: Any) -> bytes:
    """A JSON-RPC value (hex string, bytes, HexBytes) as bytes."""
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    if hasattr(x, "hex") and not isinstance(x, str):
        return bytes(x)
    return bytes.fromhex(x[2:] if x.startswith("0x") else x)


def as_int(x: Any) -> int:
    """A JSON-RPC quantity (hex string or int) as int."""
    return int(x, 16) if isinstance(x, str) else int(x)


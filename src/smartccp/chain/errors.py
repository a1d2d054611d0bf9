"""The one place that turns a revert into a named error.

- :func:`error_name`: the custom error a revert's data names, searched in every contract of the
  project (``InsufficientMargin``), or ``Error``/``Panic``, or the raw selector;
- :func:`refusal`: which error a call *would* revert with (``eth_call``, nothing sent), by name;
- :func:`sent_refusal`: the same for a call sent as a real transaction that must revert;
- :func:`refusal_text`: the same with the error's arguments, for reports
  (``NotAdmitted(account=0x...)``);
- :func:`exception_error_name`: the error's name from an exception ape raised.
"""

from __future__ import annotations

import re
from typing import Any

from ape import networks
from eth_abi import encode
from eth_utils import keccak, to_hex
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError as Web3ContractLogicError

from smartccp.chain.multicall import method_abi
from smartccp.chain.rpc import RpcError, rpc_or_default

# ─── Refusals: which named error a call would revert with ───────────────────────────────────

_ERRORS: dict[bytes, str] = {}


def error_name(data: bytes) -> str:
    """The custom error a revert's data names (searching every contract of the project), or
    ``Error``/``Panic`` for string and panic reverts, or the raw selector in hex."""
    if not _ERRORS:
        from ape import project

        for container in project.contracts.values():
            for abi in container.contract_type.abi:
                if getattr(abi, "type", "") == "error":
                    _ERRORS[keccak(text=abi.selector)[:4]] = abi.name
        _ERRORS[keccak(text="Error(string)")[:4]] = "Error"
        _ERRORS[keccak(text="Panic(uint256)")[:4]] = "Panic"
    if len(data) < 4:
        return "EmptyRevert"
    return _ERRORS.get(bytes(data[:4]), "0x" + bytes(data[:4]).hex())


def refusal(contract: Any, method: str, *args: Any, sender: Any, value: int = 0, provider: Any = None) -> str | None:
    """Simulate ``contract.method(*args)`` from ``sender`` (``eth_call`` at the latest block) and
    return the name of the error it reverts with, or ``None`` if it would succeed. Sends nothing."""
    selector, inputs, _ = method_abi(contract, method, len(args))
    tx = {"from": str(getattr(sender, "address", sender)), "to": str(contract.address),
          "data": "0x" + (selector + encode(inputs, list(args))).hex(), "gas": hex(30_000_000)}
    if value:
        tx["value"] = hex(value)
    try:
        rpc_or_default(provider).make_request("eth_call", [tx, "latest"])
    except RpcError as exc:
        return error_name(exc.data)
    return None


def sent_refusal(contract: Any, method: str, *args: Any, sender: Any, gas: int = 8_000_000, provider: Any = None) -> str:
    """Send ``contract.method(*args)`` from ``sender`` (an account the node unlocks: a dev
    chain's test account) as a real transaction, bypassing gas estimation, which would refuse it
    first: it must be mined and revert (``AssertionError`` if it succeeds). Returns the error's
    name, replayed by ``eth_call`` on the unchanged state (``NoRevertOnReplay`` if the replay
    passes)."""
    rpc = rpc_or_default(provider)
    selector, inputs, _ = method_abi(contract, method, len(args))
    tx = {"from": str(getattr(sender, "address", sender)), "to": str(contract.address), "gas": hex(gas),
          "data": "0x" + (selector + encode(inputs, list(args))).hex()}
    tx_hash = rpc.make_request("eth_sendTransaction", [tx])
    receipt = None
    while receipt is None:
        receipt = rpc.make_request("eth_getTransactionReceipt", [tx_hash])
    assert int(receipt["status"], 16) == 0, f"{method} by {tx['from']} did not revert"
    return refusal(contract, method, *args, sender=sender, provider=rpc) or "NoRevertOnReplay"


def refusal_text(method: Any, *args: Any, sender: Any, also: tuple[Any, ...] = ()) -> str | None:
    """Execute ``method(*args)`` from ``sender`` by ``eth_call``; the ledger's custom error as
    text (``NotAdmitted(account=0x...)``) if it refuses, else None. Sends nothing. ``also``:
    contracts whose errors may bubble up through the call (e.g. the Margin gate of a venue)."""
    contract = method.contract
    request = {
        "from": str(sender.address),
        "to": str(contract.address),
        "data": to_hex(method.encode_input(*args)),
    }
    try:
        networks.provider.web3.eth.call(request)
    except Web3ContractLogicError as err:
        raw = err.data.get("data") if isinstance(err.data, dict) else err.data  # Hardhat nests it
        data = HexBytes(raw) if isinstance(raw, str) else HexBytes(b"")
        decoded = None
        for source in (contract, *also):
            try:
                decoded = networks.provider.network.ecosystem.decode_custom_error(data, source.address)
            except Exception:  # not one of this contract's errors
                decoded = None
            if decoded is not None:
                break
        if decoded is None:
            return f"revert {to_hex(data) or err}"
        inputs = ", ".join(f"{k}={to_hex(v) if isinstance(v, bytes) else v}" for k, v in decoded.inputs.items())
        return f"{type(decoded).__name__}({inputs})"
    return None


def exception_error_name(err: Exception) -> str:
    """The custom error's name (``SelfTrade``) from an exception ape raised, else the exception's
    class name."""
    name = type(err).__name__
    if name in ("ContractLogicError", "VirtualMachineError", "TransactionError"):
        match = re.match(r"[A-Za-z_]\w*", str(err).strip())
        return match.group(0) if match else name
    return name

"""SmartCCP: a CCP-cleared securities market on an EVM ledger, driven from Python."""

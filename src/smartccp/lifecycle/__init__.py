"""The life of a security (``contracts/lifecycle/``): cash distributions (coupons and dividends)
paid pull-based from the depository's record-date balances."""

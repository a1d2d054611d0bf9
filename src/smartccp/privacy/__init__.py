"""Settlement privacy (issue #24): what public chain data gives away about who trades with whom."""

// Hardhat's node (npm hardhat@2) as a second EVM implementation for the external-node tests:
// `hardhat --config tools/hardhat/hardhat.config.js node --port P`. Nothing is compiled here;
// the node only needs the chain settings: Cancun, as the contracts are built for
// (ape-config.yaml), and block timestamps that follow the wall clock as anvil's do (by default
// each automined block is at least one second after the last, so a burst of transactions runs
// the chain's clock ahead of the wall clock and every wait for a due time gets longer).
module.exports = { networks: { hardhat: { hardfork: "cancun", allowBlocksWithSameTimestamp: true } } };

// Hardhat's node (npm hardhat@2) as a second EVM implementation for the external-node tests:
// `hardhat --config tools/hardhat/hardhat.config.js node --port P`. Nothing is compiled here;
// the node only needs the chain settings. Cancun, as the contracts are built for (ape-config.yaml).
module.exports = { networks: { hardhat: { hardfork: "cancun" } } };

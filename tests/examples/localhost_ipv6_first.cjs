// Preloaded into Node (`node --require`) by tests/examples/test_apollo.py: resolves `localhost` as
// a stock Debian /etc/hosts does, ::1 first and then 127.0.0.1, whatever this machine's file says.
const dns = require("node:dns");

const lookup = dns.lookup;
const LOCALHOST = [
  { address: "::1", family: 6 },
  { address: "127.0.0.1", family: 4 },
];

dns.lookup = function (hostname, options, callback) {
  if (typeof options === "function") [callback, options] = [options, {}];
  if (typeof options === "number") options = { family: options };
  if (hostname !== "localhost") return lookup.call(this, hostname, options, callback);
  const found = LOCALHOST.filter((a) => !options.family || a.family === options.family);
  process.nextTick(() =>
    options.all ? callback(null, found) : callback(null, found[0].address, found[0].family),
  );
};

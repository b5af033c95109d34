// Copies the browser files the app serves from node_modules/ (installed by `npm ci` from
// package-lock.json) into assets/<package>@<version>/, and writes README.md: what each file is,
// where it came from and its sha256. Run by `make vendor`; the app never needs npm.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const assets = join(here, "assets");

// package -> [what it is for, the files the pages load, its license files]
const FILES = {
  graphiql: ["GraphiQL at /graphql", ["graphiql.min.js", "graphiql.min.css"], ["LICENSE"]],
  "@graphiql/plugin-explorer": [
    "GraphiQL's query builder",
    ["dist/index.umd.js", "dist/style.css"],
    [], // MIT by its package.json; the package ships no license file
  ],
  react: ["GraphiQL's UI library", ["umd/react.production.min.js"], ["LICENSE"]],
  "react-dom": ["GraphiQL's UI library", ["umd/react-dom.production.min.js"], ["LICENSE"]],
  "swagger-ui-dist": [
    "/docs",
    ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"],
    ["LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"],
  ],
  redoc: [
    "/redoc",
    ["bundles/redoc.standalone.js"],
    ["LICENSE", "bundles/redoc.standalone.js.LICENSE.txt"],
  ],
  "graphql-ws": ["the live page at /", ["umd/graphql-ws.min.js"], ["LICENSE.md"]],
};

/** The folder name of a package's files: `@graphiql/plugin-explorer` -> `graphiql-plugin-explorer`. */
export const folderName = (name, version) => `${name.replace(/^@/, "").replace("/", "-")}@${version}`;

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

const pinned = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies;
const missing = Object.keys(pinned).filter((name) => !(name in FILES));
if (missing.length) throw new Error(`package.json lists packages copy.mjs does not copy: ${missing}`);

rmSync(assets, { recursive: true, force: true });
const rows = [];
for (const [name, [purpose, files, licenses]] of Object.entries(FILES)) {
  const source = join(modules, name);
  const { version, license } = JSON.parse(readFileSync(join(source, "package.json"), "utf8"));
  if (version !== pinned[name]) throw new Error(`${name} ${version} installed, ${pinned[name]} pinned: run npm ci`);
  const folder = folderName(name, version);
  mkdirSync(join(assets, folder), { recursive: true });
  for (const file of [...files, ...licenses]) {
    const from = join(source, file);
    if (!existsSync(from)) throw new Error(`${name}@${version} has no ${file}`);
    const to = join(assets, folder, basename(file));
    copyFileSync(from, to);
    rows.push(`| \`${folder}/${basename(file)}\` | ${name} ${version} (${license}) \`${file}\` | ${purpose} | \`${sha256(to)}\` |`);
  }
}

writeFileSync(
  join(here, "README.md"),
  `# Vendored browser libraries

GraphiQL (\`/graphql\`), the REST docs (\`/docs\`, \`/redoc\`) and the live page (\`/\`) load these
files from the app itself, under \`/vendor/\`: they render with no internet. Each folder names its
package's exact version, so the app serves them with a year-long, immutable cache lifetime.

\`package.json\` pins the versions and \`package-lock.json\` the tarballs with their integrity
hashes. To refresh or upgrade: change the versions in \`package.json\`, run \`npm install
--package-lock-only --ignore-scripts\` here, then \`make vendor\` (\`npm ci --ignore-scripts\`, then
\`node copy.mjs\`, which copies the files below and writes this README), update the versions the
pages name (\`web/live/index.html\` names graphql-ws's folder) and commit \`assets/\`. The tests
check that every file below matches its checksum and that every page's assets are served.

This file is written by \`copy.mjs\`: edit that instead.

| file | package (license) and path in it | used by | sha256 |
|---|---|---|---|
${rows.join("\n")}
`,
);
console.log(`copied ${rows.length} files into ${assets}`);

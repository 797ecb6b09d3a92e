#!/usr/bin/env bash
# Re-fetch the vendored GraphiQL page assets from the npm registry, at pinned versions.
# Run from anywhere: bash gateway/static/graphiql/fetch.sh (needs npm, tar, sha256sum).
# The files are copied verbatim from the packages; only the minified UMD builds, their
# styles and the licences are kept (no source maps). SHA256SUMS pins what was shipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent graphiql@3.8.3 react@18.2.0 react-dom@18.2.0 >/dev/null
for pkg in graphiql-3.8.3 react-18.2.0 react-dom-18.2.0; do
  mkdir "$pkg" && tar xzf "$pkg.tgz" -C "$pkg"
done
cp graphiql-3.8.3/package/graphiql.min.js graphiql-3.8.3/package/graphiql.min.css "$here/"
cp graphiql-3.8.3/package/LICENSE "$here/LICENSE.graphiql"
cp react-18.2.0/package/umd/react.production.min.js "$here/"
cp react-18.2.0/package/LICENSE "$here/LICENSE.react"
cp react-dom-18.2.0/package/umd/react-dom.production.min.js "$here/"
cp react-dom-18.2.0/package/LICENSE "$here/LICENSE.react-dom"
cd "$here" && sha256sum -c SHA256SUMS

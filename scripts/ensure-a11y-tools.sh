#!/bin/sh
# Install the accessibility and HTML-validity checkers the site tests use, from npm, into the
# git-ignored .cache/a11y/ (tests/site/test_a11y.py looks there):
#   axe-core  (injected into each page through Playwright, run with axe.run())
#   vnu-jar   (the Nu HTML Checker; run with Java 17: java -jar .../vnu.jar --errors-only)
# Idempotent: does nothing when the pinned versions are already there. Where npm or the registry
# is missing it prints why and exits 0: those tests then skip with that reason.
set -u
AXE_VERSION=4.14.1
VNU_VERSION=26.9.27
DIR="${A11Y_TOOLS_DIR:-$(dirname "$0")/../.cache/a11y}"
have() {
    [ -f "$DIR/node_modules/$1/package.json" ] \
        && grep -q "\"version\": \"$2\"" "$DIR/node_modules/$1/package.json"
}
if have axe-core "$AXE_VERSION" && have vnu-jar "$VNU_VERSION"; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "ensure-a11y-tools: npm not found; the axe-core and Nu checker tests will be skipped" >&2
    exit 0
fi
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "a11y-tools", "private": true}' > "$DIR/package.json"
echo "ensure-a11y-tools: npm install axe-core@$AXE_VERSION vnu-jar@$VNU_VERSION into $DIR" >&2
if npm install --prefix "$DIR" --no-audit --no-fund --silent \
    "axe-core@$AXE_VERSION" "vnu-jar@$VNU_VERSION" >/dev/null; then
    if ! command -v java >/dev/null 2>&1; then
        echo "ensure-a11y-tools: java not found; the Nu checker test will be skipped" >&2
    fi
else
    echo "ensure-a11y-tools: npm install failed; the axe-core and Nu checker tests will be skipped" >&2
fi
exit 0

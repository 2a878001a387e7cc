#!/usr/bin/env bash
# bench/profile.sh rewrites only its own section of bench/PROFILE.md (between its markers):
# the sections written by hand around it stay. Checked with --dry-run, which builds and
# profiles nothing and prints the file as a run would leave it.
set -euo pipefail
root=${1:?usage: profile_splice_test.sh SOURCE_ROOT}
script=$root/bench/profile.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
begin='<!-- bench/profile.sh writes from here to its end marker; edit outside them -->'
end="<!-- end of bench/profile.sh's section -->"
failures=0
check() {  # check NAME EXPECTED-FILE ACTUAL-FILE
  if diff -u "$2" "$3" >"$work/diff"; then
    echo "ok: $1"
  else
    echo "FAIL: $1"; cat "$work/diff"; failures=$((failures + 1))
  fi
}
placeholder() {
  printf '%s\n' "$begin" '# Where the cycles go' '' '(bench/profile.sh --dry-run: no runs.)' "$end"
}

# A file with hand-written text before and after the section: both kept, byte for byte.
{ echo '# Notes above, by hand'; echo; echo "$begin"; echo '# Where the cycles go'; echo;
  echo '| 9.9% | old | `row` |'; echo "$end"; echo; echo '## A section by hand';
  echo 'its text, with a trailing line'; } >"$work/marked.md"
cp "$work/marked.md" "$work/marked.orig"
"$script" --dry-run --output "$work/marked.md" >"$work/out.md" 2>/dev/null
{ echo '# Notes above, by hand'; echo; placeholder; echo; echo '## A section by hand';
  echo 'its text, with a trailing line'; } >"$work/want.md"
check "the section between the markers is replaced, the hand-written text around it kept" \
  "$work/want.md" "$work/out.md"
check "a dry run leaves the file alone" "$work/marked.orig" "$work/marked.md"

# A file from before the markers: the section goes first, all of the old text after it.
printf '## Only hand-written text\n\nno markers\n' >"$work/plain.md"
"$script" --dry-run --output "$work/plain.md" >"$work/out.md" 2>/dev/null
{ placeholder; echo; cat "$work/plain.md"; } >"$work/want.md"
check "a file without markers gets the section at its top and keeps its text" \
  "$work/want.md" "$work/out.md"

# Markers that do not pair up: refused, nothing printed, the file untouched.
{ echo "$begin"; echo 'a'; echo "$begin"; echo 'b'; echo "$end"; } >"$work/bad.md"
if "$script" --dry-run --output "$work/bad.md" >"$work/out.md" 2>"$work/err"; then
  echo "FAIL: two begin markers were accepted"; failures=$((failures + 1))
elif ! grep -q 'expected one begin marker before one end marker' "$work/err" || [ -s "$work/out.md" ]; then
  echo "FAIL: two begin markers: unclear refusal"; cat "$work/err"; failures=$((failures + 1))
else
  echo "ok: markers that do not pair up are refused with a reason"
fi

# The project's own bench/PROFILE.md has one pair, with hand sections after it.
"$script" --dry-run >"$work/out.md" 2>/dev/null
end_line=$(grep -nxF "$end" "$root/bench/PROFILE.md" | cut -d: -f1)
n_hand=$(($(wc -l <"$root/bench/PROFILE.md") - end_line + 1))
[ "$n_hand" -gt 1 ] || { echo "FAIL: bench/PROFILE.md has no end marker or nothing after it"; exit 1; }
tail -n "$n_hand" "$root/bench/PROFILE.md" >"$work/want.md"
tail -n "$n_hand" "$work/out.md" >"$work/got.md"
check "bench/PROFILE.md: every line after the section survives a run" "$work/want.md" "$work/got.md"
[ "$failures" = 0 ]

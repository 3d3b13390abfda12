#!/bin/sh
# greenkern-tune end to end, kept short for a 2-core CI machine:
#   - a tiny --time-limit is honoured (within 10%) and still yields a valid profile;
#   - SIGINT during a tune leaves the previous profile byte for byte, and no
#     temporary file behind;
#   - two concurrent tunes on one path leave one valid profile;
#   - without -o the profile goes where the library looks (XDG);
#   - --show, --help and bad usage behave.
# Usage: test_profile_tune.sh path/to/greenkern-tune
# GK_TUNE_WRAPPER (cross builds): the emulator to run the tuner under.
# GK_TUNE_UNTIMED=1 (under the emulator, and in -O0 builds): the time-limit
# check is skipped: at 20-100x emulation, or with unoptimised kernels, one
# measured call (and the scalar reference check before it) can outlast a 3 s
# budget, so it would test the build, not the tuner. Everything else is
# checked as in an optimised native build.
set -u
tune_bin=$1
tune() { ${GK_TUNE_WRAPPER:-} "$tune_bin" "$@"; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
export GK_PROFILE=off  # the library under test ignores any user profile

# 1. time limit
t0=$(now)
tune --effort quick --time-limit 3 -o "$dir/profile" -q --json "$dir/r.json" >"$dir/report.md" \
  || fail "tune with --time-limit 3 failed"
t1=$(now)
[ -n "${GK_TUNE_UNTIMED:-}" ] || awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a <= 3.3) }' \
  || fail "--time-limit 3 took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
head -1 "$dir/profile" | grep -q '^greenkern-profile ' || fail "no profile written"
tail -1 "$dir/profile" | grep -q '^end ' || fail "profile has no trailer"
grep -q 'Rank crossover' "$dir/report.md" || fail "report lacks the rank section"
grep -q '| registry default | closest rival | vs default | margin | decision |' "$dir/report.md" \
  || fail "report lacks the variant decisions"
grep -q '"signature"' "$dir/r.json" || fail "json lacks the signature"
tune --show -o "$dir/profile" >"$dir/show.md" || fail "--show rejected the profile just written"
grep -q 'Sequence-length crossovers' "$dir/show.md" || fail "--show report incomplete"

# 2. interrupted tune: the old profile stays, no temporary left behind
cp "$dir/profile" "$dir/before"
${GK_TUNE_WRAPPER:-} "$tune_bin" --effort quick --time-limit 60 -o "$dir/profile" -q >/dev/null 2>&1 &
pid=$!
sleep 1
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "interrupted tune exited $rc, not 130"
cmp -s "$dir/before" "$dir/profile" || fail "interrupted tune changed the profile"
ls -a "$dir" | grep -q '\.tmp\.' && fail "temporary file left behind"

# 3. two tunes at once on the same path
${GK_TUNE_WRAPPER:-} "$tune_bin" --effort quick --time-limit 2 -o "$dir/race" -q >/dev/null 2>&1 &
p1=$!
${GK_TUNE_WRAPPER:-} "$tune_bin" --effort quick --time-limit 2 -o "$dir/race" -q >/dev/null 2>&1 &
p2=$!
wait $p1 || fail "first concurrent tune failed"
wait $p2 || fail "second concurrent tune failed"
tune --show -o "$dir/race" >/dev/null || fail "concurrent tunes left an invalid profile"
ls -a "$dir" | grep -q '\.tmp\.' && fail "temporary file left behind by concurrent tunes"

# 4. no -o: the profile goes to $XDG_CONFIG_HOME/greenkern/profile, where
#    the library then finds it
env -u GK_PROFILE XDG_CONFIG_HOME="$dir/xdg" ${GK_TUNE_WRAPPER:-} "$tune_bin" --effort quick \
  --time-limit 2 -q >/dev/null 2>&1 || fail "tune without -o failed"
[ -f "$dir/xdg/greenkern/profile" ] || fail "no profile under XDG_CONFIG_HOME"
env -u GK_PROFILE XDG_CONFIG_HOME="$dir/xdg" ${GK_TUNE_WRAPPER:-} "$tune_bin" --show \
  | grep -q "$dir/xdg/greenkern/profile" || fail "--show does not find the XDG profile"

# 5. usage
tune --help | grep -q 'SYNOPSIS' || fail "--help"
tune --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option must exit 2"
tune --effort extreme >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad effort must exit 2"
tune --time-limit -1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad time limit must exit 2"
tune --ops nonsense >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --ops must exit 2"
printf 'garbage\0\n' >"$dir/garbage"
tune --show -o "$dir/garbage" >/dev/null 2>&1; [ $? -eq 1 ] || fail "--show on garbage must exit 1"
echo "ok"

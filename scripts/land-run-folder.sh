#!/usr/bin/env bash
# Commit one run folder's pointer onto a PR branch as the branch is NOW, whatever it did while
# the leg ran (a contributor's push, "Update branch", another leg's commit). docs/pipeline.md.
#
#   bash scripts/land-run-folder.sh PR_TREE FOLDER BRANCH MESSAGE_FILE
#
#   PR_TREE       a clone of the repository (the PR's checkout; remote `origin`)
#   FOLDER        results/runs/<hardware>/<run-id> under the current directory, holding the
#                 records.dvc and .gitignore that `dvc add` wrote (the records are pushed already)
#   BRANCH        the PR's head branch
#   MESSAGE_FILE  the commit message, with the benchmark trailers (runner.publish.freshness)
#   APP_TOKEN, SERVER_URL   optional: the token the fetch and push authenticate with
#   LAND_RETRY_DELAY_S      seconds before the second attempt (doubling after; default 15)
#
# Each attempt fetches the branch's current head, adds the two files on top of it in a worktree
# of its own, and pushes. The folder is new, so there is never anything to merge or rebase, and
# nothing in the leg's checkout (base code, other pointers laid beside it) can get in the way.
# After 5 failed attempts the commit is pushed to a branch of its own,
# benchmark-results/<run-id>, and the error names the DVC object already pushed and the one
# command that finishes the job.
set -euo pipefail
tree="$1"
folder="$2"
branch="$3"
message="$4"
run_id="${folder##*/}"
auth=()
if [ -n "${APP_TOKEN:-}" ] && [ -n "${SERVER_URL:-}" ]; then
  header="AUTHORIZATION: basic $(printf 'x-access-token:%s' "$APP_TOKEN" | base64 -w0)"
  auth=(-c "http.${SERVER_URL}/.extraheader=${header}")
fi
who=(-c "user.name=leaderboard-benchmark[bot]" -c "user.email=leaderboard-benchmark@users.noreply.github.com")
for name in records.dvc .gitignore; do
  test -f "${folder}/${name}" || { echo "error: ${folder}/${name} is missing (run dvc add first)" >&2; exit 1; }
done
delay="${LAND_RETRY_DELAY_S:-15}"
land="${RUNNER_TEMP:-/tmp}/land-${run_id}"
reason="unknown"
for attempt in 1 2 3 4 5; do
  rm -rf "$land"
  git -C "$tree" worktree prune
  if ! git -C "$tree" "${auth[@]}" fetch -q --no-tags origin "refs/heads/${branch}"; then
    reason="fetching ${branch} failed"
  else
    git -C "$tree" worktree add -q --detach "$land" FETCH_HEAD
    mkdir -p "${land}/${folder}"
    cp "${folder}/records.dvc" "${folder}/.gitignore" "${land}/${folder}/"
    git -C "$land" add -- "${folder}/records.dvc" "${folder}/.gitignore"
    git -C "$land" "${who[@]}" commit -q -F "$message"
    if git -C "$land" "${auth[@]}" push -q origin "HEAD:refs/heads/${branch}"; then
      echo "land-run-folder: ${folder} landed on ${branch} as $(git -C "$land" rev-parse HEAD) (attempt ${attempt})"
      exit 0
    fi
    reason="pushing to ${branch} was refused (it moved, or the token may not push)"
  fi
  if [ "$attempt" -lt 5 ]; then
    sleep "$delay"
    delay=$((delay * 2))
  fi
done
objects="$(awk '$1 == "-" && $2 == "md5:" { md5 = $3 } $1 == "nfiles:" { n = $2 } END { printf "%s, %s files", md5, n }' "${folder}/records.dvc")"
side="benchmark-results/${run_id}"
if [ -d "$land" ] && git -C "$land" "${auth[@]}" push -q origin "HEAD:refs/heads/${side}"; then
  echo "error: the pointer of ${folder} was not committed to ${branch} (${reason}); its records are in the DVC remote (${objects}) and the pointer commit is on ${side}: finish with \`git switch ${branch} && git pull --no-rebase origin ${side} && git push\`" >&2
else
  echo "error: the pointer of ${folder} was not committed to ${branch} (${reason}); its records are in the DVC remote (${objects}); the pointer files are in this leg's leg-status artifact: finish with \`git switch ${branch}\`, copy them to ${folder}/, commit and push" >&2
fi
exit 1

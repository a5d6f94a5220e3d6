#!/usr/bin/env bash
# Make the DVC remote usable in a workflow job (docs/pipeline.md, "Remotes and credentials").
#
#   VENV=.venv bash scripts/dvc-remote.sh [--check]
#
# - In a workflow job (GITHUB_ACTIONS=true) DVC_REMOTE_URL (the repository variable) must be set,
#   and on a GitHub-hosted runner (RUNNER_ENVIRONMENT=github-hosted) it must not be a local
#   folder, which a fresh hosted machine cannot reach: the job fails at once with one line
#   naming the variable. `--check` does only this (no dvc needed).
# - DVC_REMOTE_URL set: the default remote points there (`.dvc/config.local`, git-ignored);
#   empty, outside a workflow: the committed default (a folder beside the checkout) stays.
# - The plugin the URL's scheme needs is installed into $VENV when missing: s3:// dvc-s3,
#   gs:// dvc-gs, azure:// dvc-azure, ssh:// dvc-ssh (http(s) and local folders need none).
# - Credentials come from the job's environment, each only for its scheme, into
#   .dvc/config.local or a file under $RUNNER_TEMP (never a commit):
#     S3:    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (read by DVC itself; or an instance role)
#     GCS:   GCS_CREDENTIALS_JSON (a service-account key, written to a 0600 file)
#     Azure: AZURE_STORAGE_CONNECTION_STRING (read by DVC itself)
#     SSH:   DVC_SSH_PRIVATE_KEY (written to a 0600 file); DVC_SSH_KNOWN_HOSTS (the host's key)
set -euo pipefail
url="${DVC_REMOTE_URL:-}"
if [ "${GITHUB_ACTIONS:-}" = "true" ] && [ -z "$url" ]; then
  echo "error: DVC_REMOTE_URL is not set: set the repository variable DVC_REMOTE_URL to the DVC remote every job reaches (s3://, gs://, azure://, ssh:// or https://; docs/pipeline.md)" >&2
  exit 1
fi
if [ "${RUNNER_ENVIRONMENT:-}" = "github-hosted" ] && [ -n "$url" ] && [ "${url#*://}" = "$url" ]; then
  echo "error: DVC_REMOTE_URL is a local folder (${url}), which a GitHub-hosted job cannot reach: set the repository variable DVC_REMOTE_URL to an s3://, gs://, azure://, ssh:// or https:// remote (docs/pipeline.md)" >&2
  exit 1
fi
if [ "${1:-}" = "--check" ]; then
  echo "dvc-remote: DVC_REMOTE_URL=${url:-(unset: the committed default)}"
  exit 0
fi
venv="${VENV:-.venv}"
dvc="$venv/bin/dvc"
remote="$("$dvc" remote default)"
if [ -n "${DVC_REMOTE_URL:-}" ]; then
  "$dvc" remote modify --local "$remote" url "$DVC_REMOTE_URL"
fi
url="$("$dvc" remote list | awk -v name="$remote" '$1 == name { print $2 }')"
secrets_dir="${RUNNER_TEMP:-$(mktemp -d)}/dvc-credentials"
plugin=""
case "$url" in
  s3://*) plugin=dvc_s3 ;;
  gs://*)
    plugin=dvc_gs
    if [ -n "${GCS_CREDENTIALS_JSON:-}" ]; then
      mkdir -p "$secrets_dir" && umask 077
      printf '%s' "$GCS_CREDENTIALS_JSON" > "$secrets_dir/gcs.json"
      "$dvc" remote modify --local "$remote" credentialpath "$secrets_dir/gcs.json"
    fi
    ;;
  azure://*) plugin=dvc_azure ;;
  ssh://*)
    plugin=dvc_ssh
    if [ -n "${DVC_SSH_PRIVATE_KEY:-}" ]; then
      mkdir -p "$secrets_dir" && umask 077
      printf '%s\n' "$DVC_SSH_PRIVATE_KEY" > "$secrets_dir/ssh_key"
      "$dvc" remote modify --local "$remote" keyfile "$secrets_dir/ssh_key"
    fi
    if [ -n "${DVC_SSH_KNOWN_HOSTS:-}" ]; then
      mkdir -p "$HOME/.ssh" && printf '%s\n' "$DVC_SSH_KNOWN_HOSTS" >> "$HOME/.ssh/known_hosts"
    fi
    ;;
esac
if [ -n "$plugin" ] && ! "$venv/bin/python" -c "import $plugin" 2>/dev/null; then
  echo "dvc-remote: installing ${plugin//_/-} for $url"
  "$venv/bin/python" -m pip install -q -c constraints.txt "${plugin//_/-}"
fi
echo "dvc-remote: $remote -> ${url:-?}"

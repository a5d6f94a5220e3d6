#!/usr/bin/env bash
# Make the DVC remote usable in a workflow job (docs/pipeline.md, "Remotes and credentials").
#
#   VENV=.venv bash scripts/dvc-remote.sh
#
# - DVC_REMOTE_URL (the repository variable) set: the default remote points there
#   (`.dvc/config.local`, git-ignored); empty: the committed default stays.
# - The plugin the URL's scheme needs is installed into $VENV when missing: s3:// dvc-s3,
#   gs:// dvc-gs, azure:// dvc-azure, ssh:// dvc-ssh (http(s) and local folders need none).
# - Credentials come from the job's environment, each only for its scheme, into
#   .dvc/config.local or a file under $RUNNER_TEMP (never a commit):
#     S3:    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (read by DVC itself; or an instance role)
#     GCS:   GCS_CREDENTIALS_JSON (a service-account key, written to a 0600 file)
#     Azure: AZURE_STORAGE_CONNECTION_STRING (read by DVC itself)
#     SSH:   DVC_SSH_PRIVATE_KEY (written to a 0600 file); DVC_SSH_KNOWN_HOSTS (the host's key)
set -euo pipefail
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

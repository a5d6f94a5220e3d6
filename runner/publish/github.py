"""The few GitHub REST calls the PR loop makes: one summary comment, and the label's removal.

A thin client over `urllib` (no extra dependency): the base URL comes from `GITHUB_API_URL`
(set on every Actions runner; a test points it at a local server), the repository from
`GITHUB_REPOSITORY`, the token from `GITHUB_TOKEN`.

- `leaderboard pr-comment --pr N --body-file F`: the benchmark summary is ONE comment per PR,
  found again by a hidden marker and edited in place on every run, not a new comment each time.
- `leaderboard pr-unlabel --pr N --label benchmark`: the benchmark workflow removes its label
  when it starts, so new pushes run nothing until a maintainer labels the PR again.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import UserError

COMMENT_MARKER = "<!-- leaderboard-benchmark-summary -->"
PAGE_SIZE = 100
MAX_PAGES = 50


@dataclass(frozen=True)
class GitHub:
    """Where and as whom to call the REST API."""

    api_url: str
    repository: str
    token: str

    @classmethod
    def from_environment(cls) -> GitHub:
        """From GITHUB_API_URL, GITHUB_REPOSITORY and GITHUB_TOKEN.

        Raises:
            UserError: a variable is missing.
        """
        missing = [
            name for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN") if not os.environ.get(name)
        ]
        if missing:
            raise UserError(f"GitHub: {', '.join(missing)} not set (the workflow sets them)")
        return cls(
            api_url=os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            repository=os.environ["GITHUB_REPOSITORY"],
            token=os.environ["GITHUB_TOKEN"],
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request; the decoded JSON answer (None for an empty one).

        Raises:
            UserError: one line with the method, path, HTTP status and GitHub's message.
        """
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            f"{self.api_url}/repos/{self.repository}{path}",
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:200].replace("\n", " ")
            raise UserError(f"GitHub {method} {path}: HTTP {error.code} {detail}") from None
        except urllib.error.URLError as error:
            raise UserError(f"GitHub {method} {path}: {error.reason}") from None
        return json.loads(text) if text.strip() else None


def upsert_comment(github: GitHub, pr: int, body: str) -> tuple[str, int]:
    """Create the PR's summary comment, or edit the one that carries the marker.

    Returns:
        (`created` or `updated`, the comment id).
    """
    text = body if COMMENT_MARKER in body else f"{COMMENT_MARKER}\n{body}"
    for page in range(1, MAX_PAGES + 1):
        comments = github.call("GET", f"/issues/{pr}/comments?per_page={PAGE_SIZE}&page={page}")
        for comment in comments or []:
            if COMMENT_MARKER in (comment.get("body") or ""):
                github.call("PATCH", f"/issues/comments/{comment['id']}", {"body": text})
                return "updated", int(comment["id"])
        if not comments or len(comments) < PAGE_SIZE:
            break
    created = github.call("POST", f"/issues/{pr}/comments", {"body": text})
    return "created", int(created["id"])


def remove_label(github: GitHub, pr: int, label: str) -> bool:
    """Remove `label` from the PR; False when it was not there."""
    try:
        github.call("DELETE", f"/issues/{pr}/labels/{urllib.request.quote(label, safe='')}")
    except UserError as error:
        if "HTTP 404" in str(error):
            return False
        raise
    return True


def cmd_pr_comment(args: argparse.Namespace) -> int:
    """Post or update the summary comment from a markdown file."""
    try:
        body = args.body_file.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"--body-file {args.body_file}: cannot read ({error.strerror})") from None
    action, comment_id = upsert_comment(GitHub.from_environment(), args.pr, body)
    print(f"pr-comment: {action} comment {comment_id} on #{args.pr}")
    return 0


def cmd_pr_unlabel(args: argparse.Namespace) -> int:
    """Remove the label that started the run."""
    removed = remove_label(GitHub.from_environment(), args.pr, args.label)
    print(f"pr-unlabel: {args.label!r} {'removed from' if removed else 'was not on'} #{args.pr}")
    return 0


def add_parsers(commands: Any) -> None:
    """Register `pr-comment` and `pr-unlabel` on the CLI's subparsers."""
    comment = commands.add_parser("pr-comment", help="post or update the PR's summary comment")
    comment.add_argument("--pr", type=int, required=True, help="pull request number")
    comment.add_argument("--body-file", type=Path, required=True, help="markdown file")
    comment.set_defaults(handler=cmd_pr_comment)

    unlabel = commands.add_parser("pr-unlabel", help="remove a label from a pull request")
    unlabel.add_argument("--pr", type=int, required=True, help="pull request number")
    unlabel.add_argument("--label", default="benchmark", help="label name")
    unlabel.set_defaults(handler=cmd_pr_unlabel)

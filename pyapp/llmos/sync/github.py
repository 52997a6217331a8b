"""A small GitHub REST client for the git data API (blobs, trees, commits, refs), over
:class:`llmos.platform.http.Http`.

The token goes only into the ``Authorization`` header of requests to the configured API origin:
every URL is built here from that base, and a request for any other origin is refused before it
is sent. Error messages say what GitHub answered and what to do, and never hold the token (any
echo of it in a server's text is blanked out).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from llmos.errors import LlmError, LlmosError
from llmos.platform.http import Http, display_url, excerpt

DEFAULT_API = "https://api.github.com"
TIMEOUT_S = 30.0
API_VERSION = "2022-11-28"
MAX_BLOB_BYTES = 50_000_000
"""The largest file sync moves (GitHub's blob API refuses 100 MB; base64 adds a third)."""


class GithubError(LlmosError):
    """GitHub refused or could not be reached. ``code``: ``network``, ``auth`` (401),
    ``forbidden`` (403), ``rate_limited`` (403/429 with the limit used up), ``not_found``,
    ``empty`` (409 on a repository with no commit), ``conflict`` (409), ``not_fast_forward``
    and ``rejected`` (422), ``server`` (5xx), ``bad_response``."""

    def __init__(self, message: str, code: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    type: str
    sha: str
    size: int = 0


def blob_sha(data: bytes) -> str:
    """The git object id of a blob holding ``data`` (what GitHub reports as its ``sha``)."""
    import hashlib

    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port or ''}"


def check_api(url: str) -> str:
    """``url`` as an API base (no trailing slash), or :class:`GithubError` when unusable."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise GithubError(f"The GitHub API address must be an http(s) URL, not {url!r}.", "invalid")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise GithubError("The GitHub API address may hold no credentials or query.", "invalid")
    return url.strip().rstrip("/")


def check_repo(repo: str) -> str:
    """``owner/name`` (a github.com URL is accepted too), or :class:`GithubError`."""
    text = repo.strip().removesuffix(".git").rstrip("/")
    for prefix in ("https://github.com/", "http://github.com/", "github.com/"):
        text = text.removeprefix(prefix)
    parts = text.split("/")
    ok = len(parts) == 2 and all(p and p not in (".", "..") for p in parts)
    if not ok or any(not (c.isalnum() or c in "-_.") for c in "".join(parts)):
        raise GithubError(f"{repo!r} is not a repository: write it as owner/name.", "invalid")
    return text


class GithubClient:
    """One repository on one API, with an optional token."""

    def __init__(self, http: Http, api: str, repo: str, token: str | None) -> None:
        self._http = http
        self.api = check_api(api)
        self.repo = check_repo(repo)
        self._token = token or None
        self.requests = 0

    # --- transport ----------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.api}/repos/{self.repo}{path}"

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text

    async def request(self, method: str, url: str, body: Any = None) -> Any:
        """``method`` on ``url`` (which must be on the API's origin); the decoded JSON answer,
        or :class:`GithubError` for anything but a 2xx JSON one."""
        if origin(url) != origin(self.api):
            raise GithubError(
                f"Refused to send the GitHub token to {display_url(url)}: it only goes to "
                f"{display_url(self.api)}.",
                "invalid",
            )
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        self.requests += 1
        try:
            async with self._http.stream(
                method, url, headers=headers, body=data, timeout=TIMEOUT_S
            ) as response:
                raw = await response.read()
                status, answer_headers = response.status, response.headers
        except LlmError as error:
            raise GithubError(self._scrub(str(error)), "network") from None
        if 200 <= status < 300:
            try:
                return json.loads(raw)
            except ValueError:
                raise GithubError(
                    f"GitHub's answer to {method} {display_url(url)} was not JSON: "
                    f"{self._scrub(excerpt(raw, 120))}",
                    "bad_response",
                    status,
                ) from None
        raise self._failure(status, answer_headers, raw, method)

    def _failure(
        self, status: int, headers: dict[str, str], raw: bytes, method: str
    ) -> GithubError:
        try:
            said = str(json.loads(raw).get("message", ""))
        except (ValueError, AttributeError):
            said = excerpt(raw, 120)
        said = self._scrub(" ".join(said.split())[:300])
        if status == 429 or (status == 403 and headers.get("x-ratelimit-remaining") == "0"):
            return GithubError(_rate_limit_message(headers, said), "rate_limited", status)
        lowered = said.lower()
        code = {
            401: "auth",
            403: "forbidden",
            404: "not_found",
            409: "empty" if "empty" in lowered else "conflict",
            422: "not_fast_forward" if "fast forward" in lowered else "rejected",
        }.get(status, "server" if status >= 500 else "rejected")
        template = _MESSAGES.get(code, "GitHub answered {status} to {method} on {repo}: {said}")
        message = template.format(status=status, said=said, repo=self.repo, method=method)
        return GithubError(message, code, status)

    # --- endpoints ----------------------------------------------------------------------------
    async def repository(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self.request("GET", self._url(""))
        return answer

    async def head(self, branch: str) -> str | None:
        """The commit ``branch`` points at; None when the branch does not exist. Raises
        :class:`GithubError` ``empty`` for a repository without any commit."""
        try:
            answer = await self.request("GET", self._url(f"/git/ref/heads/{quote(branch)}"))
        except GithubError as error:
            if error.code == "not_found":
                return None
            raise
        return str(_field(answer, "object", "sha"))

    async def commit_tree(self, sha: str) -> str:
        """The tree of commit ``sha``."""
        answer = await self.request("GET", self._url(f"/git/commits/{sha}"))
        return str(_field(answer, "tree", "sha"))

    async def tree(self, sha: str) -> list[TreeEntry]:
        """Every entry below the tree (recursively)."""
        answer = await self.request("GET", self._url(f"/git/trees/{sha}?recursive=1"))
        if not isinstance(answer, dict):
            raise GithubError("GitHub's tree listing is not an object.", "bad_response")
        if answer.get("truncated"):
            raise GithubError(
                f"{self.repo} holds more files than GitHub lists in one answer; sync needs a "
                "smaller repository.",
                "rejected",
            )
        try:
            return [
                TreeEntry(
                    str(item["path"]),
                    str(item["mode"]),
                    str(item["type"]),
                    str(item["sha"]),
                    int(item.get("size") or 0),
                )
                for item in _field(answer, "tree")
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise GithubError(
                f"GitHub's tree listing is malformed ({error}).", "bad_response"
            ) from None

    async def blob(self, sha: str) -> bytes:
        answer = await self.request("GET", self._url(f"/git/blobs/{sha}"))
        if _field(answer, "encoding") != "base64":
            raise GithubError(f"Blob {sha[:7]} came in an unexpected encoding.", "bad_response")
        try:
            data = base64.b64decode(str(_field(answer, "content")))
        except ValueError:
            raise GithubError(f"Blob {sha[:7]} is not valid base64.", "bad_response") from None
        if blob_sha(data) != sha:
            raise GithubError(f"Blob {sha[:7]} arrived damaged.", "bad_response")
        return data

    async def create_blob(self, data: bytes) -> str:
        body = {"content": base64.b64encode(data).decode("ascii"), "encoding": "base64"}
        answer = await self.request("POST", self._url("/git/blobs"), body)
        sha = str(_field(answer, "sha"))
        if sha != blob_sha(data):
            raise GithubError("GitHub stored a file differently than it was sent.", "bad_response")
        return sha

    async def create_tree(self, base: str | None, entries: list[dict[str, Any]]) -> str:
        body: dict[str, Any] = {"tree": entries}
        if base:
            body["base_tree"] = base
        return str(_field(await self.request("POST", self._url("/git/trees"), body), "sha"))

    async def create_commit(self, message: str, tree: str, parents: list[str]) -> str:
        body = {"message": message, "tree": tree, "parents": parents}
        return str(_field(await self.request("POST", self._url("/git/commits"), body), "sha"))

    async def update_ref(self, branch: str, sha: str) -> None:
        """Move ``branch`` to ``sha`` if that is a fast-forward (``not_fast_forward`` if not)."""
        body = {"sha": sha, "force": False}
        await self.request("PATCH", self._url(f"/git/refs/heads/{quote(branch)}"), body)

    async def create_ref(self, branch: str, sha: str) -> None:
        body = {"ref": f"refs/heads/{branch}", "sha": sha}
        await self.request("POST", self._url("/git/refs"), body)

    async def put_file(self, path: str, data: bytes, message: str, branch: str) -> str:
        """The contents API: how the first commit gets into an empty repository (the git data
        API answers 409 there). Returns the new commit."""
        body = {
            "message": message,
            "content": base64.b64encode(data).decode("ascii"),
            "branch": branch,
        }
        answer = await self.request("PUT", self._url(f"/contents/{quote(path)}"), body)
        return str(_field(answer, "commit", "sha"))


_MESSAGES = {
    "auth": "GitHub refused the token ({status} {said}). Check the token in Settings > GitHub "
    "sync: it may be mistyped, expired or revoked.",
    "forbidden": "The token may not do this on {repo} ({status} {said}). A fine-grained token "
    "needs this repository and the permission Contents: read and write.",
    "not_found": "GitHub has no repository {repo} that this token can see ({status} {said}). "
    "Check the name, and that the token was given access to it.",
    "empty": "The repository {repo} is empty ({status} {said}).",
    "conflict": "GitHub answered {status} for {repo}: {said}",
    "not_fast_forward": "The branch on {repo} moved during the sync ({status} {said}).",
    "rejected": "GitHub refused the change to {repo} ({status} {said}).",
    "server": "GitHub had a problem ({status} {said}); try again later.",
}


def _field(answer: Any, *names: str) -> Any:
    value = answer
    for name in names:
        if not isinstance(value, dict) or name not in value:
            raise GithubError(f"GitHub's answer lacks '{'.'.join(names)}'.", "bad_response")
        value = value[name]
    return value


def _rate_limit_message(headers: dict[str, str], said: str) -> str:
    wait = ""
    if headers.get("retry-after", "").isdigit():
        wait = f" Try again in {int(headers['retry-after'])} s."
    elif headers.get("x-ratelimit-reset", "").isdigit():
        minutes = max(1, round((int(headers["x-ratelimit-reset"]) - time.time()) / 60))
        wait = f" It resets in about {minutes} min."
    return f"GitHub's rate limit is used up ({said}).{wait} Nothing was lost: sync again later."

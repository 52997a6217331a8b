"""A GitHub REST API stand-in for tests: the endpoints LLMos sync uses, backed by real bare git
repositories.

``GithubServer`` listens on 127.0.0.1 (a free port) and answers, with GitHub's request and response
shapes (JSON bodies, ``{"message", "documentation_url", "status"}`` errors, ``x-ratelimit-*``
headers, CORS like api.github.com), these endpoints:

- ``GET /repos/{owner}/{repo}``
- ``GET /repos/{owner}/{repo}/git/ref/{ref}`` (and ``/git/refs/{ref}``), ``POST .../git/refs``,
  ``PATCH .../git/refs/{ref}`` (422 "Update is not a fast forward" unless ``force``)
- ``GET|POST .../git/blobs``, ``GET|POST .../git/trees`` (``recursive``, ``base_tree``, nested
  paths, ``sha: null`` deletes), ``GET|POST .../git/commits``
- ``PUT .../contents/{path}`` (how a client puts the first file into an empty repository: the git
  data endpoints answer 409 "Git Repository is empty." there, as GitHub's do)

Every object lives in a bare repository written with git's own plumbing (``hash-object -w``,
``mktree``, ``commit-tree``, ``update-ref`` with the old value, so a ref moves atomically), so
``git clone`` of it shows exactly what a client committed.

Tokens: ``tokens`` maps a token to ``{"write": bool, "repos": [names] | None}``; a missing token
may read public repositories only, an unknown one gets 401 "Bad credentials", a read-only one
403 "Resource not accessible by personal access token" on writes. ``fail()`` scripts faults:
a dropped connection before or after the server acts, an HTTP status, the primary rate limit
(403, ``x-ratelimit-remaining: 0``) or the secondary one (429, ``retry-after``).

Where the server cannot run (inside Pyodide), the same controls are reached over HTTP at
``/_control/<action>`` (see ``tests/core/test_sync.py``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DOCS = "https://docs.github.com/rest"
WRITE_TOKEN = "github_pat_test_write_0123456789abcdef"
READ_TOKEN = "github_pat_test_read_0123456789abcdef"
RATE_LIMIT = 5000
USER = {"name": "Octo Cat", "email": "octocat@users.noreply.github.com"}
EXPOSED = (
    "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, "
    "X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, "
    "X-GitHub-Request-Id, Deprecation, Sunset"
)
ALLOWED_HEADERS = (
    "Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Match, "
    "If-Unmodified-Since, Accept-Encoding, X-GitHub-OTP, X-Requested-With, User-Agent, "
    "GraphQL-Features, X-Github-Next-Global-ID, X-GitHub-Api-Version"
)
_MODES = {
    "100644": "blob",
    "100755": "blob",
    "120000": "blob",
    "040000": "tree",
    "160000": "commit",
}
_SHA = re.compile(r"^[0-9a-f]{40}$")


class ApiError(Exception):
    """An error answer with GitHub's body shape."""

    def __init__(self, status: int, message: str, docs: str = DOCS) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.docs = docs

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "documentation_url": self.docs, "status": str(self.status)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Repo:
    """One bare repository and git plumbing over it."""

    def __init__(self, path: Path, name: str, private: bool) -> None:
        self.path = path
        self.name = name
        self.private = private
        self.lock = threading.Lock()

    def git(self, *args: str, data: bytes | None = None, check: bool = True) -> bytes:
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.path)}
        env |= {"GIT_AUTHOR_NAME": USER["name"], "GIT_AUTHOR_EMAIL": USER["email"]}
        env |= {"GIT_COMMITTER_NAME": USER["name"], "GIT_COMMITTER_EMAIL": USER["email"]}
        done = subprocess.run(
            ["git", "-C", str(self.path), *args],
            check=False,
            input=data,
            capture_output=True,
            env=env,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def kind(self, sha: str) -> str | None:
        if not _SHA.match(sha):
            return None
        done = self.git("cat-file", "-t", sha, check=False)
        return done.decode().strip() or None

    def is_empty(self) -> bool:
        return not self.git("for-each-ref", "--format=%(refname)").strip()

    def resolve(self, ref: str) -> str | None:
        out = self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return out.decode().strip() or None

    def default_branch(self) -> str:
        return self.git("symbolic-ref", "--short", "HEAD").decode().strip()

    def write_blob(self, data: bytes) -> str:
        return self.git("hash-object", "-w", "--stdin", data=data).decode().strip()

    def flat_tree(self, tree: str) -> dict[str, tuple[str, str, str]]:
        """path -> (mode, type, sha) for every non-tree entry below ``tree``."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", tree)
        found: dict[str, tuple[str, str, str]] = {}
        for line in filter(None, out.decode().split("\0")):
            meta, path = line.split("\t", 1)
            mode, kind, sha = meta.split()
            found[path] = (mode, kind, sha)
        return found

    def make_tree(self, flat: dict[str, tuple[str, str, str]]) -> str:
        """Nested trees for ``flat`` (path -> (mode, type, sha)), written with ``git mktree``."""
        children: dict[str, dict[str, tuple[str, str, str]]] = {}
        lines: list[str] = []
        for path, entry in flat.items():
            head, slash, rest = path.partition("/")
            if slash:
                children.setdefault(head, {})[rest] = entry
            else:
                lines.append(f"{entry[0]} {entry[1]} {entry[2]}\t{head}")
        for name, below in children.items():
            lines.append(f"040000 tree {self.make_tree(below)}\t{name}")
        data = "".join(line + "\0" for line in lines).encode()
        return self.git("mktree", "-z", data=data).decode().strip()

    def commit(self, tree: str, parents: list[str], message: str) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.git(*args, data=message.encode()).decode().strip()

    def is_ancestor(self, old: str, new: str) -> bool:
        args = ["git", "-C", str(self.path), "merge-base", "--is-ancestor", old, new]
        return subprocess.run(args, check=False, capture_output=True).returncode == 0

    def move_ref(self, ref: str, new: str, old: str | None) -> bool:
        """Compare-and-swap: moves ``ref`` only if it still points at ``old`` (None: absent)."""
        done = subprocess.run(
            ["git", "-C", str(self.path), "update-ref", ref, new, old or "0" * 40],
            check=False,
            capture_output=True,
        )
        return done.returncode == 0


class GithubServer:
    """The stand-in server. ``url`` is its API base, as ``https://api.github.com`` would be."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="github-server-"))
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.faults: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.remaining = RATE_LIMIT
        self.lock = threading.RLock()
        self.public_url: str | None = None  # the base of ``url`` fields in answers
        self.reset()
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.dead_url = f"http://127.0.0.1:{_free_port()}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def __enter__(self) -> GithubServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- controls -------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            for repo in self.repos.values():
                shutil.rmtree(repo.path, ignore_errors=True)
            self.repos.clear()
            self.tokens = {
                WRITE_TOKEN: {"write": True, "repos": None},
                READ_TOKEN: {"write": False, "repos": None},
            }
            self.faults.clear()
            self.requests.clear()
            self.remaining = RATE_LIMIT
            self.public_url = None

    def create_repo(
        self,
        name: str,
        files: dict[str, bytes] | None = None,
        *,
        branch: str = "main",
        private: bool = True,
        message: str = "Initial commit",
    ) -> str | None:
        """A new repository ``owner/name``; with ``files``, one commit holding them."""
        path = self.root / f"{name}.git"
        path.mkdir(parents=True)
        subprocess.run(
            ["git", "init", "--bare", "-q", "-b", branch, str(path)],
            check=True,
            capture_output=True,
        )
        with self.lock:
            self.repos[name.lower()] = Repo(path, name, private)
        return self.push(name, files, message, branch=branch) if files else None

    def push(
        self, name: str, files: Mapping[str, bytes | None], message: str, *, branch: str = "main"
    ) -> str:
        """Another client's commit on ``branch``: ``None`` deletes a path."""
        repo = self.repo(name)
        with repo.lock:
            head = repo.resolve(f"refs/heads/{branch}")
            flat = repo.flat_tree(head) if head else {}
            for path, data in files.items():
                if data is None:
                    flat.pop(path, None)
                else:
                    flat[path] = ("100644", "blob", repo.write_blob(data))
            sha = repo.commit(repo.make_tree(flat), [head] if head else [], message)
            if not repo.move_ref(f"refs/heads/{branch}", sha, head):
                raise RuntimeError("the branch moved during a test push")
            return sha

    def repo(self, name: str) -> Repo:
        with self.lock:
            return self.repos[name.lower()]

    def head(self, name: str, branch: str = "main") -> str | None:
        return self.repo(name).resolve(f"refs/heads/{branch}")

    def files(self, name: str, branch: str = "main") -> dict[str, bytes]:
        repo = self.repo(name)
        head = repo.resolve(f"refs/heads/{branch}")
        if head is None:
            return {}
        return {
            path: repo.git("cat-file", "blob", sha)
            for path, (_, kind, sha) in repo.flat_tree(head).items()
            if kind == "blob"
        }

    def log(self, name: str, branch: str = "main") -> list[dict[str, Any]]:
        """Commits newest first: ``{"sha", "parents", "message"}``."""
        repo = self.repo(name)
        if repo.resolve(f"refs/heads/{branch}") is None:
            return []
        out = repo.git("log", "--format=%H%x00%P%x00%B%x01", f"refs/heads/{branch}").decode()
        entries = []
        for record in filter(None, (r.strip("\n") for r in out.split("\x01"))):
            sha, parents, message = record.split("\0", 2)
            entries.append({"sha": sha, "parents": parents.split(), "message": message.strip()})
        return entries

    def fail(
        self,
        kind: str | int,
        *,
        method: str = "",
        path: str = "",
        times: int = 1,
        message: str = "",
        repo: str = "",
        files: Mapping[str, bytes | None] | None = None,
    ) -> None:
        """Fault the next ``times`` requests whose method is ``method`` and whose path contains
        ``path`` (empty: any): ``"drop"`` closes the connection before acting, ``"drop-after"``
        acts and then closes it unanswered, ``"rate-limit"`` is GitHub's primary limit (403),
        ``"secondary-rate-limit"`` its secondary one (429), an int answers that status, and
        ``"interleave"`` first commits ``files`` to ``repo`` as another client would (a race),
        ``"garble"`` answers a blob with other content than its sha says."""
        with self.lock:
            fault: dict[str, Any] = {"kind": kind, "method": method.upper(), "path": path}
            fault["times"] = times
            fault |= {"message": message, "repo": repo, "files": dict(files or {})}
            self.faults.append(fault)

    def clone(self, name: str, dest: Path) -> Path:
        """``git clone file://...`` of the repository into ``dest``."""
        url = self.repo(name).path.resolve().as_uri()
        subprocess.run(["git", "clone", "-q", url, str(dest)], check=True, capture_output=True)
        return dest

    def control(self, action: str, args: dict[str, Any]) -> Any:
        """The controls above, for a test that reaches this server only over HTTP."""

        def decoded(files: dict[str, str | None] | None) -> dict[str, bytes | None]:
            return {k: None if v is None else base64.b64decode(v) for k, v in (files or {}).items()}

        def encoded(files: dict[str, bytes]) -> dict[str, str]:
            return {k: base64.b64encode(v).decode() for k, v in files.items()}

        def fail(kind: str | int, files: dict[str, str | None] | None = None, **rest: Any) -> None:
            self.fail(kind, files=decoded(files), **rest)

        controls: dict[str, Callable[[], Any]] = {
            "reset": self.reset,
            "create_repo": lambda: self.create_repo(
                args["name"],
                {k: v for k, v in decoded(args.get("files")).items() if v is not None},
                private=args.get("private", True),
            ),
            "push": lambda: self.push(args["name"], decoded(args["files"]), args["message"]),
            "files": lambda: encoded(self.files(args["name"])),
            "log": lambda: self.log(args["name"]),
            "fail": lambda: fail(**args),
            "requests": lambda: list(self.requests),
            "heal": self.faults.clear,
        }
        if action not in controls:
            raise ApiError(404, f"no control {action}")
        with self.lock:
            return controls[action]()

    # --- the API --------------------------------------------------------------------------------
    def next_fault(self, method: str, path: str) -> dict[str, Any] | None:
        with self.lock:
            for fault in self.faults:
                if fault["method"] in ("", method) and fault["path"] in path:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def base(self) -> str:
        return self.public_url or self.url

    def grant(self, header: str) -> dict[str, Any] | None:
        scheme, _, token = header.partition(" ")
        return self.tokens.get(token) if scheme.lower() in ("bearer", "token") else None

    def authorize(self, header: str | None, repo: Repo, write: bool) -> None:
        if header is None:
            if repo.private:
                raise ApiError(404, "Not Found", f"{DOCS}/repos/repos#get-a-repository")
            if write:
                raise ApiError(401, "Requires authentication", DOCS)
            return
        grant = self.grant(header)
        if grant is None:
            raise ApiError(401, "Bad credentials", DOCS)
        if grant["repos"] is not None and repo.name not in grant["repos"]:
            raise ApiError(404, "Not Found", f"{DOCS}/repos/repos#get-a-repository")
        if write and not grant["write"]:
            raise ApiError(403, "Resource not accessible by personal access token", DOCS)

    def answer(
        self, method: str, target: str, body: Any, auth: str | None
    ) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        match = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", parts.path)
        if match is None:
            raise ApiError(404, "Not Found", DOCS)
        name = f"{match[1]}/{match[2]}"
        if auth is not None and self.grant(auth) is None:
            raise ApiError(401, "Bad credentials", DOCS)  # before anything else, as GitHub does
        with self.lock:
            repo = self.repos.get(name.lower())
        if repo is None:
            raise ApiError(404, "Not Found", f"{DOCS}/repos/repos#get-a-repository")
        self.authorize(auth, repo, write=method != "GET")
        rest = match[3] or ""
        api = _Api(self, repo, f"{self.base()}/repos/{repo.name}")
        with repo.lock:
            return api.route(method, rest, body, query)


class _Api:
    """The endpoints of one repository."""

    def __init__(self, server: GithubServer, repo: Repo, url: str) -> None:
        self.server = server
        self.repo = repo
        self.url = url

    def route(
        self, method: str, rest: str, body: Any, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        if rest == "" and method == "GET":
            return 200, self.repo_json()
        if rest.startswith("/contents/") and method == "PUT":
            return self.put_contents(unquote(rest.removeprefix("/contents/")), body)
        if not rest.startswith("/git/"):
            raise ApiError(404, "Not Found", DOCS)
        if self.repo.is_empty():
            raise ApiError(409, "Git Repository is empty.", f"{DOCS}/git")
        kind, _, arg = rest.removeprefix("/git/").partition("/")
        arg = unquote(arg)
        recursive = bool(query.get("recursive"))
        routes: dict[tuple[str, str], Callable[[], tuple[int, dict[str, Any]]]] = {
            ("GET", "ref"): lambda: (200, self.get_ref(arg)),
            ("GET", "refs"): lambda: (200, self.get_ref(arg)),
            ("POST", "refs"): lambda: self.create_ref(body),
            ("PATCH", "refs"): lambda: (200, self.update_ref(arg, body)),
            ("GET", "blobs"): lambda: (200, self.get_blob(arg)),
            ("POST", "blobs"): lambda: (201, self.create_blob(body)),
            ("GET", "trees"): lambda: (200, self.tree_json(self.tree_sha(arg), recursive)),
            ("POST", "trees"): lambda: (201, self.create_tree(body)),
            ("GET", "commits"): lambda: (200, self.commit_json(self.commit_sha(arg))),
            ("POST", "commits"): lambda: (201, self.create_commit(body)),
        }
        handler = routes.get((method, kind))
        if handler is None or (kind != "refs" and method == "POST" and arg):
            raise ApiError(404, "Not Found", DOCS)
        return handler()

    # --- repos and refs ---
    def repo_json(self) -> dict[str, Any]:
        owner, name = self.repo.name.split("/")
        return {
            "id": abs(hash(self.repo.name)) % 10**9,
            "node_id": "R_test",
            "name": name,
            "full_name": self.repo.name,
            "private": self.repo.private,
            "owner": {"login": owner, "id": 1, "type": "User"},
            "html_url": f"https://github.com/{self.repo.name}",
            "url": self.url,
            "default_branch": self.repo.default_branch(),
            "visibility": "private" if self.repo.private else "public",
        }

    def ref_json(self, ref: str, sha: str) -> dict[str, Any]:
        return {
            "ref": ref,
            "node_id": "REF_test",
            "url": f"{self.url}/git/{ref}",
            "object": {"sha": sha, "type": "commit", "url": f"{self.url}/git/commits/{sha}"},
        }

    def get_ref(self, ref: str) -> dict[str, Any]:
        sha = self.repo.resolve(f"refs/{ref}") if ref else None
        if sha is None:
            raise ApiError(404, "Not Found", f"{DOCS}/git/refs#get-a-reference")
        return self.ref_json(f"refs/{ref}", sha)

    def create_ref(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ref, sha = str(body.get("ref", "")), str(body.get("sha", ""))
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(
                422, "Reference name must start with 'refs/' and have at least two slashes."
            )
        if self.repo.kind(sha) != "commit":
            raise ApiError(422, "Object does not exist", f"{DOCS}/git/refs#create-a-reference")
        if not self.repo.move_ref(ref, sha, None):
            raise ApiError(422, "Reference already exists", f"{DOCS}/git/refs#create-a-reference")
        return 201, self.ref_json(ref, sha)

    def update_ref(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        docs = f"{DOCS}/git/refs#update-a-reference"
        sha = str(body.get("sha", ""))
        old = self.repo.resolve(f"refs/{ref}")
        if old is None:
            raise ApiError(422, "Reference does not exist", docs)
        if self.repo.kind(sha) != "commit":
            raise ApiError(422, "Object does not exist", docs)
        fast_forward = self.repo.is_ancestor(old, sha)
        if not fast_forward and body.get("force") is not True:
            raise ApiError(422, "Update is not a fast forward", docs)
        if not self.repo.move_ref(f"refs/{ref}", sha, old):
            raise ApiError(422, "Update is not a fast forward", docs)
        return self.ref_json(f"refs/{ref}", sha)

    # --- blobs ---
    def get_blob(self, sha: str) -> dict[str, Any]:
        if self.repo.kind(sha) != "blob":
            raise ApiError(404, "Not Found", f"{DOCS}/git/blobs#get-a-blob")
        data = self.repo.git("cat-file", "blob", sha)
        encoded = base64.encodebytes(data).decode("ascii")  # GitHub wraps its base64 in lines
        return {
            "sha": sha,
            "node_id": "B_test",
            "size": len(data),
            "url": f"{self.url}/git/blobs/{sha}",
            "content": encoded,
            "encoding": "base64",
        }

    def create_blob(self, body: dict[str, Any]) -> dict[str, Any]:
        content, encoding = body.get("content"), body.get("encoding", "utf-8")
        docs = f"{DOCS}/git/blobs#create-a-blob"
        if not isinstance(content, str):
            raise ApiError(422, 'Invalid request.\n\n"content" wasn\'t supplied.', docs)
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=False)
            except ValueError as error:
                raise ApiError(422, "Invalid request.\n\nInvalid base64.", docs) from error
        elif encoding in ("utf-8", "utf8"):
            data = content.encode("utf-8")
        else:
            raise ApiError(422, f"encoding {encoding} is not supported", docs)
        sha = self.repo.write_blob(data)
        return {"url": f"{self.url}/git/blobs/{sha}", "sha": sha}

    # --- trees ---
    def tree_sha(self, arg: str) -> str:
        kind = self.repo.kind(arg)
        if kind == "commit":
            return self.repo.git("rev-parse", f"{arg}^{{tree}}").decode().strip()
        if kind != "tree":
            raise ApiError(404, "Not Found", f"{DOCS}/git/trees#get-a-tree")
        return arg

    def tree_json(self, sha: str, recursive: bool) -> dict[str, Any]:
        args = ["ls-tree", "-l", "-z", *(["-r", "-t"] if recursive else []), sha]
        entries = []
        for line in filter(None, self.repo.git(*args).decode().split("\0")):
            meta, path = line.split("\t", 1)
            mode, kind, obj, size = meta.split()
            entry: dict[str, Any] = {"path": path, "mode": mode, "type": kind, "sha": obj}
            if kind == "blob":
                entry["size"] = int(size)
            entry["url"] = f"{self.url}/git/{kind}s/{obj}"
            entries.append(entry)
        return {"sha": sha, "url": f"{self.url}/git/trees/{sha}", "tree": entries,
                "truncated": False}  # fmt: skip

    def create_tree(self, body: dict[str, Any]) -> dict[str, Any]:
        docs = f"{DOCS}/git/trees#create-a-tree"
        entries = body.get("tree")
        if not isinstance(entries, list):
            raise ApiError(422, 'Invalid request.\n\n"tree" wasn\'t supplied.', docs)
        base = body.get("base_tree")
        if base is not None and self.repo.kind(str(base)) not in ("tree", "commit"):
            raise ApiError(422, "base_tree is not a valid tree oid", docs)
        flat = self.repo.flat_tree(self.tree_sha(str(base))) if base else {}
        for entry in entries:
            self.apply_entry(flat, entry, docs)
        return self.tree_json(self.repo.make_tree(flat), recursive=False)

    def apply_entry(
        self, flat: dict[str, tuple[str, str, str]], entry: dict[str, Any], docs: str
    ) -> None:
        path, mode, kind = str(entry.get("path", "")), entry.get("mode"), entry.get("type")
        if not path or path.startswith("/") or ".." in path.split("/") or "//" in path:
            raise ApiError(422, f"tree.path {path!r} is invalid", docs)
        if mode not in _MODES or kind != _MODES[mode]:
            raise ApiError(422, f"tree.mode {mode!r} / tree.type {kind!r} do not match", docs)
        if "sha" in entry and "content" in entry:
            raise ApiError(422, "Only one of content or sha may be given per tree entry", docs)
        prefix = path + "/"
        if "content" in entry:
            flat[path] = (str(mode), "blob", self.repo.write_blob(str(entry["content"]).encode()))
            return
        sha = entry.get("sha")
        if sha is None:  # deletion
            gone = [p for p in flat if p == path or p.startswith(prefix)]
            if not gone:
                raise ApiError(422, "GitRPC::BadObjectState", docs)
            for p in gone:
                del flat[p]
            return
        if self.repo.kind(str(sha)) != kind:
            raise ApiError(422, f"tree.sha {sha} is not a valid {kind}", docs)
        for p in [p for p in flat if p == path or p.startswith(prefix)]:
            del flat[p]
        if kind == "tree":
            for below, value in self.repo.flat_tree(str(sha)).items():
                flat[prefix + below] = value
        else:
            flat[path] = (str(mode), str(kind), str(sha))

    # --- commits ---
    def commit_sha(self, arg: str) -> str:
        if self.repo.kind(arg) != "commit":
            raise ApiError(404, "Not Found", f"{DOCS}/git/commits#get-a-commit")
        return arg

    def commit_json(self, sha: str) -> dict[str, Any]:
        raw = self.repo.git("cat-file", "commit", sha).decode("utf-8", "replace")
        header, _, message = raw.partition("\n\n")
        tree, parents, people = "", [], {}
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key in ("author", "committer"):
                who, _, when = value.rpartition("> ")
                name, _, email = who.partition(" <")
                stamp = time.gmtime(int(when.split()[0]))
                date = time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp)
                people[key] = {"name": name, "email": email, "date": date}
        return {
            "sha": sha,
            "node_id": "C_test",
            "url": f"{self.url}/git/commits/{sha}",
            "html_url": f"https://github.com/{self.repo.name}/commit/{sha}",
            "author": people.get("author"),
            "committer": people.get("committer"),
            "tree": {"sha": tree, "url": f"{self.url}/git/trees/{tree}"},
            "message": message,
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.url}/git/commits/{p}",
                    "html_url": f"https://github.com/{self.repo.name}/commit/{p}",
                }
                for p in parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def create_commit(self, body: dict[str, Any]) -> dict[str, Any]:
        docs = f"{DOCS}/git/commits#create-a-commit"
        message, tree = body.get("message"), str(body.get("tree", ""))
        parents = body.get("parents", [])
        if not isinstance(message, str):
            raise ApiError(422, 'Invalid request.\n\n"message" wasn\'t supplied.', docs)
        if self.repo.kind(tree) != "tree":
            raise ApiError(422, "Tree SHA does not exist", docs)
        if not isinstance(parents, list) or any(
            self.repo.kind(str(p)) != "commit" for p in parents
        ):
            raise ApiError(422, "Parent SHA does not exist or is not a commit object", docs)
        return self.commit_json(self.repo.commit(tree, [str(p) for p in parents], message))

    # --- contents (first commit of an empty repository) ---
    def put_contents(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        docs = f"{DOCS}/repos/contents#create-or-update-file-contents"
        message, content = body.get("message"), body.get("content")
        if not isinstance(message, str) or not isinstance(content, str):
            raise ApiError(422, 'Invalid request.\n\n"message", "content" are required.', docs)
        branch = str(body.get("branch") or self.repo.default_branch())
        head = self.repo.resolve(f"refs/heads/{branch}")
        flat = self.repo.flat_tree(head) if head else {}
        existing = flat.get(path)
        if existing is not None and body.get("sha") != existing[2]:
            raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.', docs)
        blob = self.repo.write_blob(base64.b64decode(content))
        flat[path] = ("100644", "blob", blob)
        sha = self.repo.commit(self.repo.make_tree(flat), [head] if head else [], message)
        if not self.repo.move_ref(f"refs/heads/{branch}", sha, head):
            raise ApiError(409, f"{branch} does not match {head}", docs)
        name = path.rsplit("/", 1)[-1]
        file_json = {"name": name, "path": path, "sha": blob, "type": "file",
                     "url": f"{self.url}/contents/{path}?ref={branch}"}  # fmt: skip
        return (200 if existing else 201), {"content": file_json, "commit": self.commit_json(sha)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: GithubServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", EXPOSED)
        self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        super().end_headers()

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
        self.send_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
        self.send_header("Access-Control-Max-Age", "86400")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        state = self.server_state
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(data) if data else {}
        except ValueError:
            self._send(400, ApiError(400, "Problems parsing JSON").body())
            return
        if self.path.startswith("/_control/"):
            try:
                self._send(200, {"result": state.control(self.path[10:], body)})
            except ApiError as error:
                self._send(error.status, error.body())
            return
        auth = self.headers.get("Authorization")
        headers = {name.lower(): value for name, value in self.headers.items()}
        with state.lock:
            state.requests.append({"method": self.command, "path": self.path,
                                   "headers": headers, "body": body})  # fmt: skip
        fault = state.next_fault(self.command, self.path)
        kind = fault["kind"] if fault else None
        if kind == "interleave" and fault is not None:  # another client pushes first
            state.push(fault["repo"], fault["files"], fault["message"] or "Another device")
        if kind == "drop":
            self._drop()
            return
        try:
            status, answer = self._limited(kind, fault) or state.answer(
                self.command, self.path, body, auth
            )
        except ApiError as error:
            status, answer = error.status, error.body()
        if kind == "drop-after":
            self._drop()
            return
        if kind == "garble" and isinstance(answer.get("content"), str):  # a damaged blob
            answer["content"] = base64.b64encode(b"garbled").decode()
        self._send(status, answer)

    def _limited(
        self, kind: Any, fault: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any]] | None:
        state = self.server_state
        if kind == "rate-limit":
            state.remaining = 0
            message = "API rate limit exceeded for user ID 1."
            raise ApiError(403, message, f"{DOCS}/overview/rate-limits-for-the-rest-api")
        if kind == "secondary-rate-limit":
            message = "You have exceeded a secondary rate limit. Please wait a few minutes."
            raise ApiError(429, message, f"{DOCS}/overview/rate-limits-for-the-rest-api")
        if isinstance(kind, int) and fault is not None:
            raise ApiError(kind, fault["message"] or "Scripted failure")
        with state.lock:
            state.remaining = max(0, state.remaining - 1)
        return None

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, status: int, answer: Any) -> None:
        state = self.server_state
        data = json.dumps(answer, indent=2).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        self.send_header("X-GitHub-Request-Id", f"TEST:{id(self):X}")
        self.send_header("X-RateLimit-Limit", str(RATE_LIMIT))
        self.send_header("X-RateLimit-Remaining", str(state.remaining))
        self.send_header("X-RateLimit-Used", str(RATE_LIMIT - state.remaining))
        self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
        self.send_header("X-RateLimit-Resource", "core")
        if status == 429:
            self.send_header("Retry-After", "60")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        if state.remaining == 0:  # a scripted limit holds for one answer, then resets
            state.remaining = RATE_LIMIT

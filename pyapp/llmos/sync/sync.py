"""Two-way sync of ``user/skills/`` (and the folders the user opts in) with a GitHub repository,
and installing skills from any repository in the same layout.

The repository mirrors the user volume minus ``user/``: ``user/skills/x/SKILL.md`` is
``skills/x/SKILL.md`` there. One sync is one commit, made with the git data API: the new blobs,
a tree based on the remote tree, a commit whose parent is the remote head, then a fast-forward
ref update. When someone else moved the branch meanwhile (422 "not a fast forward"), the sync
starts over once from the new head.

Merging is per file, three-way against the base: the path -> blob sha map of the last sync,
kept in Settings ``sync`` (with the repo, branch, folders and API address). A file changed on one
side only takes that side; a deletion on one side against an edit on the other keeps the edit;
an edit on both sides keeps both: the local file stays and is pushed, the remote version is
written next to it as ``<stem>.conflict-<sha7><suffix>`` (and pushed too, so every device has
both). That name keeps the folder a valid skill: the Agent Skills validator only reads the file
named exactly ``SKILL.md`` (or ``skill.md``), so ``SKILL.conflict-1a2b3c4.md`` is an ordinary
extra file, not a second or broken skill, and the suffix keeps the editor's highlighting.

Nothing local changes before the remote is committed (or found to need no commit): remote data
is downloaded first, the ref moves last, and only then are pulled files written. A sync that fails
(offline, a dropped connection, a refusal from GitHub) leaves the local files as they were, the
remote at a whole commit, and the sync pending for the next ``sync.run``. The token lives in
Secrets ``github.token`` only.

Skills that arrive from GitHub, installed or pulled (new or changed), are untrusted until the
user enables them, so a hostile push never runs unseen; ``trust_pulled`` opts one's own
repository out of that for pulls.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmos import protocol
from llmos.errors import LlmosError, NotFoundError, PathError
from llmos.sync.github import (
    DEFAULT_API,
    MAX_BLOB_BYTES,
    GithubClient,
    GithubError,
    TreeEntry,
    blob_sha,
    check_api,
    check_repo,
)
from llmos.vfs import paths

if TYPE_CHECKING:
    from llmos.service import OsService

SETTINGS_KEY = "sync"
SKILLS_STATE_KEY = "skills"  # the skill store's {"disabled": [...], "untrusted": [...]}
TOKEN_KEY = "github.token"
DEFAULT_BRANCH = "main"
DEFAULT_FOLDERS = ("skills",)
USER = "user"
MAX_ATTEMPTS = 2  # the first try, and one more after a non-fast-forward
PARALLEL = 4  # requests in flight at once for blobs
MAX_LISTED = 20  # paths named in a commit message
MAX_INSTALL_SKILLS = 50

Json = dict[str, Any]


@dataclass
class Plan:
    """What one sync does, decided from base, local and remote before anything is changed."""

    push: dict[str, bytes] = field(default_factory=dict)  # path -> local data to upload
    remove_remote: list[str] = field(default_factory=list)
    pull: dict[str, str] = field(default_factory=dict)  # local path to write -> remote blob
    remove_local: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)  # path -> its conflict copy
    merged: dict[str, str] = field(default_factory=dict)  # path -> blob sha after the sync

    def pushes_anything(self) -> bool:
        return bool(self.push or self.remove_remote or self.conflicts)


@dataclass
class Remote:
    """The branch as last read: its head commit, that commit's tree and the synced files."""

    head: str | None = None
    tree: str | None = None
    entries: dict[str, TreeEntry] = field(default_factory=dict)
    too_big: list[str] = field(default_factory=list)


def conflict_path(path: str, sha: str) -> str:
    """``dir/SKILL.md`` -> ``dir/SKILL.conflict-1a2b3c4.md`` (see the module's docstring)."""
    folder, _, name = path.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    if not stem:  # no suffix (or a dot file): append the marker
        stem, dot, suffix = name, "", ""
    copy = f"{stem}.conflict-{sha[:7]}{dot}{suffix}"
    return f"{folder}/{copy}" if folder else copy


def plan(base: dict[str, str], local: dict[str, bytes], remote: dict[str, str]) -> Plan:
    """The three-way decision for every path (paths relative to the repository)."""
    local_sha = {path: blob_sha(data) for path, data in local.items()}
    result = Plan()
    for path in sorted(set(base) | set(local_sha) | set(remote)):
        was, mine, theirs = base.get(path), local_sha.get(path), remote.get(path)
        if mine == theirs:
            keep = mine
        elif theirs == was or (theirs is None and mine != was):
            keep = mine  # only we changed (or we edited what they deleted): ours
            if mine is None:
                result.remove_remote.append(path)
            else:
                result.push[path] = local[path]
        elif mine == was or mine is None:
            keep = theirs  # only they changed (or they edited what we deleted): theirs
            if theirs is None:
                result.remove_local.append(path)
            else:
                result.pull[path] = theirs
        else:  # both edited: ours stays and goes up, theirs is kept beside it
            assert theirs is not None
            keep = mine
            result.push[path] = local[path]
            copy = conflict_path(path, theirs)
            result.conflicts[path] = copy
            if local_sha.get(copy) != theirs:
                result.pull[copy] = theirs
            result.merged[copy] = theirs
        if keep is not None:
            result.merged[path] = keep
    return result


def commit_message(plan_: Plan) -> str:
    changed = sorted(plan_.push) + sorted(plan_.conflicts.values())
    removed = sorted(plan_.remove_remote)
    parts = [f"{len(changed)} changed"] + ([f"{len(removed)} deleted"] if removed else [])
    lines = [f"+ {p}" for p in changed] + [f"- {p}" for p in removed]
    more = len(lines) - MAX_LISTED
    body = "\n".join(lines[:MAX_LISTED] + ([f"... and {more} more"] if more > 0 else []))
    conflicts = f"\n\nConflicts kept both versions: {', '.join(sorted(plan_.conflicts))}"
    return f"LLMos sync: {', '.join(parts)}\n\n{body}" + (conflicts if plan_.conflicts else "")


def _synced(path: str, folders: list[str]) -> bool:
    """Whether a repository path belongs to a synced folder (dot files and folders never do:
    the skill store stages its writes in ``skills/.staging``)."""
    if any(part.startswith(".") for part in path.split("/")):
        return False
    return any(path.startswith(folder + "/") for folder in folders)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class SyncEngine:
    """Sync for one OS service: settings, status and the runs (one at a time)."""

    def __init__(self, service: OsService) -> None:
        self.service = service
        self.lock = asyncio.Lock()

    # --- settings -----------------------------------------------------------------------------
    def state(self) -> Json:
        return dict(self.service.settings.get(SETTINGS_KEY) or {})

    def folders(self) -> list[str]:
        return list(self.state().get("folders") or DEFAULT_FOLDERS)

    def view(self) -> Json:
        state = self.state()
        return {
            "repo": state.get("repo", ""),
            "branch": state.get("branch", DEFAULT_BRANCH),
            "folders": self.folders(),
            "has_token": bool(self.service.secrets.get(TOKEN_KEY)),
            "api": state.get("api", DEFAULT_API),
            "trust_pulled": bool(state.get("trust_pulled")),
        }

    async def configure(self, params: Json) -> Json:
        """Set repo, branch, folders, api and the token (empty text clears it)."""
        state = self.state()
        if "repo" in params:
            state["repo"] = check_repo(str(params["repo"])) if params["repo"] else ""
        if params.get("branch"):
            state["branch"] = _branch(str(params["branch"]))
        if "trust_pulled" in params:
            state["trust_pulled"] = params["trust_pulled"] is True
        if "folders" in params:
            state["folders"] = _folders(params["folders"])
        if params.get("api"):
            state["api"] = check_api(str(params["api"]))
        if "token" in params:
            token = str(params["token"] or "").strip()
            if token and (any(c.isspace() for c in token) or not token.isprintable()):
                raise GithubError("The token holds spaces or control characters.", "invalid")
            if token:
                await self.service.secrets.set(TOKEN_KEY, token)
            else:
                await self.service.secrets.delete(TOKEN_KEY)
        await self.service.settings.set(SETTINGS_KEY, state)
        self._emit()
        return self.view()

    async def _save(self, **changes: Any) -> None:
        await self.service.settings.set(SETTINGS_KEY, self.state() | changes)

    def client(self, repo: str | None = None) -> GithubClient:
        state = self.state()
        token = self.service.secrets.get(TOKEN_KEY)
        if self.service.http is None:
            raise GithubError("This OS has no network access.", "network")
        return GithubClient(
            self.service.http,
            state.get("api", DEFAULT_API),
            repo or state.get("repo", ""),
            str(token) if token else None,
        )

    # --- status -------------------------------------------------------------------------------
    async def status(self) -> Json:
        state = self.state()
        last = state.get("last")
        pending = bool(state.get("pending"))
        if not pending and state.get("repo"):
            pending = await self._changed_since_base(state)
        message = last.get("message", "") if isinstance(last, dict) else ""
        return {"pending": pending, "last": last, "message": message, "repo": state.get("repo")}

    async def _changed_since_base(self, state: Json) -> bool:
        base = self._base(state)
        local = await self._local_shas()
        remote_view = {p: s for p, s in base.items() if _synced(p, self.folders())}
        return local != remote_view

    def _base(self, state: Json) -> dict[str, str]:
        base = state.get("base") or {}
        branch = state.get("branch") or DEFAULT_BRANCH
        same = base.get("repo") == state.get("repo") and base.get("branch") == branch
        return dict(base.get("files") or {}) if same else {}

    def _emit(self) -> None:
        view = self.view()
        state = self.state()
        last = state.get("last")
        data = {"pending": bool(state.get("pending")), "last": last, "settings": view}
        self.service.emit(protocol.event("sync.status", **data))

    # --- the local side -----------------------------------------------------------------------
    async def _local_files(self) -> tuple[dict[str, bytes], list[str]]:
        """The synced files (repository path -> data), and those too big to sync."""
        files: dict[str, bytes] = {}
        too_big: list[str] = []
        for folder in self.folders():
            root = f"{USER}/{folder}"
            if not await self.service.vfs.exists(root):
                continue
            for entry in await self.service.vfs.walk(root):
                path = entry.path.removeprefix(f"{USER}/")
                if entry.is_dir or not _synced(path, [folder]):
                    continue
                if entry.size > MAX_BLOB_BYTES:
                    too_big.append(path)
                    continue
                files[path] = await self.service.vfs.read_bytes(entry.path)
        return files, too_big

    async def _local_shas(self) -> dict[str, str]:
        files, _ = await self._local_files()
        return {path: blob_sha(data) for path, data in files.items()}

    async def _local_sha(self, path: str) -> str | None:
        try:
            return blob_sha(await self.service.vfs.read_bytes(f"{USER}/{path}"))
        except NotFoundError:
            return None

    # --- a run --------------------------------------------------------------------------------
    async def run(self) -> Json:
        """One sync; always answers, never raises (failures are results with a message)."""
        async with self.lock:
            state = self.state()
            if not state.get("repo"):
                return await self._finish("error", "Choose a repository in Settings > GitHub sync.")
            if not self.service.secrets.get(TOKEN_KEY):
                return await self._finish(
                    "error",
                    "Add a GitHub token in Settings > GitHub sync: a fine-grained token with "
                    f"Contents: read and write on {state['repo']}.",
                )
            try:
                result = await self._run(state)
            except GithubError as error:
                status = "queued" if error.code == "network" else "error"
                kept = " Your files were not changed; the sync is queued for next time."
                return await self._finish(status, f"{error}{kept}")
            except LlmosError as error:
                return await self._finish("error", f"{error} The sync is queued for next time.")
        return result

    async def _finish(self, status: str, message: str, **result: Any) -> Json:
        answer: Json = {
            "status": status,
            "commit": result.get("commit"),
            "pushed": result.get("pushed", []),
            "pulled": result.get("pulled", []),
            "conflicts": result.get("conflicts", []),
            "message": message,
        }
        for extra in ("problems", "review"):
            if result.get(extra):
                answer[extra] = result[extra]
        pending = status not in ("synced", "conflicts") or bool(result.get("pending"))
        await self._save(pending=pending, last=answer | {"time": _now()})
        self._emit()
        return answer

    async def _run(self, state: Json) -> Json:
        client = self.client()
        branch = str(state.get("branch") or DEFAULT_BRANCH)
        attempts = 0
        while True:
            attempts += 1
            try:
                return await self._attempt(client, state, branch)
            except GithubError as error:
                if error.code == "not_fast_forward" and attempts < MAX_ATTEMPTS:
                    continue  # someone pushed meanwhile: merge with their commit, once
                if error.code == "empty" and attempts < MAX_ATTEMPTS + 1:
                    if await self._seed_empty(client, branch):
                        continue
                    return await self._finish("synced", "Nothing to sync yet.")
                raise

    async def _seed_empty(self, client: GithubClient, branch: str) -> bool:
        """An empty repository takes no blobs or trees: its first file goes in through the
        contents API (so this first sync makes two commits). False: nothing to put there."""
        local, _ = await self._local_files()
        if not local:
            return False
        first = sorted(local)[0]
        await client.put_file(first, local[first], "LLMos sync: first file", branch)
        return True

    async def _attempt(self, client: GithubClient, state: Json, branch: str) -> Json:
        problems: list[str] = []
        remote = await self._read_remote(client, branch, problems)
        local, too_big = await self._local_files()
        # A file too big to move on either side is left alone on both (and in the base): it
        # must not look deleted to the merge.
        held = {*too_big, *remote.too_big}
        problems += [
            f"{USER}/{p} is over {MAX_BLOB_BYTES:,} bytes: not synced." for p in sorted(held)
        ]
        base_before = self._base(state)
        kept = {p: sha for p, sha in base_before.items() if p in held}
        remote_shas = {p: e.sha for p, e in remote.entries.items() if p not in held}
        local = {p: data for p, data in local.items() if p not in held}
        base_now = {p: sha for p, sha in base_before.items() if p not in held}
        todo = plan(base_now, local, remote_shas)
        downloads = await self._download(client, sorted(set(todo.pull.values())))
        commit = remote.head
        if todo.pushes_anything():
            commit = await self._push(client, branch, remote, todo)
        review = await self._distrust(todo)  # before any pulled file lands
        pulled, skipped = await self._apply_local(todo, local, downloads)
        merged = todo.merged | kept
        for path in skipped:  # changed here during the sync: decide again next time
            merged.pop(path, None)
            if path in base_before:
                merged[path] = base_before[path]
        base = {"repo": state.get("repo"), "branch": branch, "commit": commit, "files": merged}
        await self._save(base=base)
        return await self._report(
            todo, commit, pulled=pulled, problems=problems, late=bool(skipped), review=review
        )

    async def _read_remote(self, client: GithubClient, branch: str, problems: list[str]) -> Remote:
        remote = Remote(head=await client.head(branch))
        if remote.head is None:
            return remote
        remote.tree = await client.commit_tree(remote.head)
        folders = self.folders()
        for entry in await client.tree(remote.tree):
            wanted = entry.type == "blob" and entry.mode != "120000"  # no links
            if wanted and _synced(entry.path, folders) and _valid_path(entry.path, problems):
                remote.entries[entry.path] = entry
                if entry.size > MAX_BLOB_BYTES:
                    remote.too_big.append(entry.path)
        return remote

    async def _distrust(self, todo: Plan) -> list[str]:
        """Skills whose files came from GitHub in this sync (new or changed, conflict copies
        aside) wait for the user's review, as installed ones do: a hostile push to the repo
        must not run unseen. ``trust_pulled`` in the settings opts out (one's own devices)."""
        copies = set(todo.conflicts.values())
        names = sorted(
            {
                path.split("/")[1]
                for path in todo.pull
                if path not in copies and path.startswith("skills/") and path.count("/") >= 2
            }
        )
        if not names or self.state().get("trust_pulled"):
            return []
        state = dict(self.service.settings.get(SKILLS_STATE_KEY) or {})
        untrusted = [n for n in state.get("untrusted", []) if isinstance(n, str)]
        state["untrusted"] = sorted({*untrusted, *names})
        state.setdefault("disabled", [])
        await self.service.settings.set(SKILLS_STATE_KEY, state)
        return names

    async def _report(
        self,
        todo: Plan,
        commit: str | None,
        *,
        pulled: list[str],
        problems: list[str],
        late: bool,
        review: list[str],
    ) -> Json:
        pushed = sorted({*todo.push, *todo.remove_remote, *todo.conflicts.values()})
        conflicts = sorted(todo.conflicts)
        if conflicts:
            copies = ", ".join(f"{USER}/{todo.conflicts[p]}" for p in conflicts)
            message = (
                f"{len(conflicts)} file(s) changed both here and on GitHub: yours stay, GitHub's "
                f"were kept beside them ({copies}). Compare, keep one, and delete the other."
            )
            status = "conflicts"
        else:
            message = f"Synced: {len(pushed)} sent, {len(pulled)} received."
            status = "synced"
        if review:
            message += (
                f" Skills changed on GitHub wait for your review before they run: "
                f"{', '.join(review)} (enable them in Skills)."
            )
        if late:
            message += " Some files changed during the sync; they sync next time."
        return await self._finish(
            status,
            message,
            commit=commit,
            pushed=[f"{USER}/{p}" for p in pushed],
            pulled=[f"{USER}/{p}" for p in pulled],
            conflicts=[f"{USER}/{p}" for p in conflicts],
            problems=problems,
            pending=late,
            review=review,
        )

    async def _download(self, client: GithubClient, shas: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(shas), PARALLEL):
            batch = shas[start : start + PARALLEL]
            for sha, data in zip(
                batch, await asyncio.gather(*map(client.blob, batch)), strict=True
            ):
                found[sha] = data
        return found

    async def _push(self, client: GithubClient, branch: str, remote: Remote, todo: Plan) -> str:
        head, entries_now = remote.head, remote.entries
        known = {entry.sha for entry in entries_now.values()}
        uploads = {blob_sha(data): data for data in todo.push.values()}
        missing = [sha for sha in uploads if sha not in known]
        for start in range(0, len(missing), PARALLEL):
            batch = missing[start : start + PARALLEL]
            await asyncio.gather(*(client.create_blob(uploads[sha]) for sha in batch))
        entries: list[Json] = []
        for path, data in sorted(todo.push.items()):
            mode = entries_now[path].mode if path in entries_now else "100644"
            entries.append({"path": path, "mode": mode, "type": "blob", "sha": blob_sha(data)})
        for path, copy in sorted(todo.conflicts.items()):
            entries.append(
                {"path": copy, "mode": "100644", "type": "blob", "sha": entries_now[path].sha}
            )
        for path in sorted(todo.remove_remote):
            mode = entries_now[path].mode
            entries.append({"path": path, "mode": mode, "type": "blob", "sha": None})
        tree = await client.create_tree(remote.tree, entries)
        commit = await client.create_commit(commit_message(todo), tree, [head] if head else [])
        if head is None:
            await client.create_ref(branch, commit)
        else:
            await client.update_ref(branch, commit)
        return commit

    async def _apply_local(
        self, todo: Plan, local: dict[str, bytes], downloads: dict[str, bytes]
    ) -> tuple[list[str], list[str]]:
        """Write pulled files and delete removed ones, unless the file changed here since it
        was read (those are skipped and decided again by the next sync)."""
        vfs = self.service.vfs
        pulled: list[str] = []
        skipped: list[str] = []
        for path, sha in sorted(todo.pull.items()):
            read = blob_sha(local[path]) if path in local else None
            if await self._local_sha(path) != read:
                skipped.append(path)
                continue
            await vfs.write_bytes(f"{USER}/{path}", downloads[sha])
            pulled.append(path)
        for path in sorted(todo.remove_local):
            if await self._local_sha(path) != blob_sha(local[path]):
                skipped.append(path)
                continue
            await vfs.delete(f"{USER}/{path}")
            await self._prune(paths.parent(f"{USER}/{path}"))
            pulled.append(path)
        return pulled, skipped

    async def _prune(self, folder: str) -> None:
        """Remove folders left empty by deletions, up to the synced folder itself."""
        vfs = self.service.vfs
        while folder.count("/") > 1 and not await vfs.list(folder):
            await vfs.delete(folder)
            folder = paths.parent(folder)

    # --- install ------------------------------------------------------------------------------
    async def install(self, url: str) -> Json:
        """Import the skills of a GitHub repository URL (untrusted and disabled)."""
        from llmos.skills.store import skill_store

        repo, branch, folder = parse_repo_url(url)
        client = self.client(repo)
        if branch is None:
            branch = str((await client.repository()).get("default_branch") or DEFAULT_BRANCH)
        head = await client.head(branch)
        if head is None:
            raise GithubError(f"{repo} has no branch '{branch}'.", "not_found")
        tree = await client.tree(await client.commit_tree(head))
        problems: list[str] = []
        chosen = _skill_folders(tree, folder, problems)
        if not chosen:
            where = f"{repo}/{folder}" if folder else repo
            raise GithubError(f"No skill (a folder with SKILL.md) in {where}.", "not_found")
        wanted = {e.path: e.sha for e in tree if e.type == "blob" and _under(e.path, chosen)}
        blobs = await self._download(client, sorted(set(wanted.values())))
        files = {path: blobs[sha] for path, sha in wanted.items()}
        imported = await skill_store(self.service).import_files(
            files, f"github.com/{repo}@{head[:7]}"
        )
        problems += list(getattr(imported, "problems", []))
        return {"imported": list(imported), "problems": problems, "commit": head}


def _skill_folders(tree: list[TreeEntry], folder: str, problems: list[str]) -> list[str]:
    """The folders holding a SKILL.md at or below ``folder`` (``skills/`` when none is given
    and the repository has one), outermost only, each within the store's size limits."""
    from llmos.skills.spec import MAX_SKILL_BYTES
    from llmos.skills.store import MAX_FILES

    def roots_below(prefix: str) -> list[str]:
        found = sorted(
            paths.parent(e.path)
            for e in tree
            if e.type == "blob"
            and paths.basename(e.path) == "SKILL.md"
            and (not prefix or e.path.startswith(prefix + "/"))
        )
        return [r for r in found if not any(r.startswith(o + "/") for o in found if o != r)]

    roots = roots_below(folder or "skills") or ([] if folder else roots_below(""))
    chosen = []
    for root in roots[:MAX_INSTALL_SKILLS]:
        inside = [e for e in tree if e.type == "blob" and _under(e.path, [root])]
        size = sum(e.size for e in inside)
        if size > MAX_SKILL_BYTES or len(inside) > MAX_FILES:
            problems.append(
                f"{root or '(top folder)'}: {len(inside)} files, {size:,} bytes; a skill may hold "
                f"at most {MAX_FILES} files and {MAX_SKILL_BYTES:,} bytes. Not installed."
            )
            continue
        chosen.append(root)
    if len(roots) > MAX_INSTALL_SKILLS:
        problems.append(f"Only the first {MAX_INSTALL_SKILLS} of {len(roots)} skills were read.")
    return chosen


def _under(path: str, roots: list[str]) -> bool:
    return any(not root or path.startswith(root + "/") for root in roots)


def _valid_path(path: str, problems: list[str]) -> bool:
    try:
        return paths.normalize(path) == path
    except PathError as error:
        problems.append(f"Skipped {path!r} from GitHub: {error}")
        return False


def parse_repo_url(url: str) -> tuple[str, str | None, str]:
    """``https://github.com/owner/repo[/tree/<branch>[/<folder>]]`` (or ``owner/repo``) as
    (repo, branch or None, folder). A branch name with ``/`` in it is not supported."""
    text = url.strip().split("?", 1)[0].split("#", 1)[0]
    scheme, has_scheme, remainder = text.partition("://")
    text = remainder if has_scheme else scheme
    host, slash, after = text.partition("/")
    if has_scheme or "." in host:  # a host is named: it must be GitHub's
        if host.lower() not in ("github.com", "www.github.com") or not slash:
            raise GithubError(f"{url!r} is not a github.com repository URL.", "invalid")
        text = after
    parts = [p for p in text.split("/") if p]
    if len(parts) < 2:
        raise GithubError(
            f"{url!r} is not a GitHub repository URL (https://github.com/owner/repo).", "invalid"
        )
    repo = check_repo(f"{parts[0]}/{parts[1]}")
    rest = parts[2:]
    if not rest:
        return repo, None, ""
    if rest[0] not in ("tree", "blob") or len(rest) < 2:
        raise GithubError(
            f"{url!r}: expected .../tree/<branch>/<folder> after the repository.", "invalid"
        )
    folder = "/".join(rest[2:])
    if folder.endswith("/SKILL.md") or folder == "SKILL.md":
        folder = paths.parent(folder)
    try:
        folder = paths.normalize(folder)
    except PathError as error:
        raise GithubError(f"{url!r}: {error}", "invalid") from error
    return repo, _branch(rest[1]), folder


def _branch(name: str) -> str:
    name = name.strip()
    bad = not name or name.startswith(("-", "/")) or ".." in name or name.endswith((".lock", "/"))
    if bad or any(c.isspace() or c in "~^:?*[\\" or ord(c) < 32 for c in name):
        raise GithubError(f"{name!r} is not a branch name.", "invalid")
    return name


def _folders(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GithubError("Folders must be a list of folder names in your files.", "invalid")
    folders: list[str] = []
    for raw in value:
        try:
            folder = paths.normalize(raw.removeprefix(f"{USER}/"))
        except PathError as error:
            raise GithubError(f"{raw!r} cannot be synced: {error}", "invalid") from error
        if (
            not folder
            or folder.startswith(".")
            or any(p.startswith(".") for p in folder.split("/"))
        ):
            raise GithubError(
                f"{raw!r} cannot be synced: name a folder inside your files.", "invalid"
            )
        if folder not in folders:
            folders.append(folder)
    if "skills" not in folders:
        folders.insert(0, "skills")
    return folders


_ENGINES: weakref.WeakKeyDictionary[OsService, SyncEngine] = weakref.WeakKeyDictionary()


def sync_engine(service: OsService) -> SyncEngine:
    """The service's sync engine, made on first use."""
    engine = _ENGINES.get(service)
    if engine is None:
        engine = _ENGINES[service] = SyncEngine(service)
    return engine
